// Package cli runs a command made of subcommands: the imagepipe binaries share it.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Command is one subcommand; Run gets the arguments after its name.
type Command struct {
	Summary string
	Run     func(ctx context.Context, args []string) error
}

// ErrUsage marks a usage error already explained to the user (exit status 2).
var ErrUsage = errors.New("usage")

// Main runs the subcommand named by os.Args[1] with a context that SIGINT and SIGTERM
// cancel, and exits: 0 on success, 2 on a usage error, 1 otherwise.
func Main(prog string, commands map[string]Command) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(prog, commands)
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: unknown command %q\n\n", prog, os.Args[1])
		usage(prog, commands)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd.Run(ctx, os.Args[2:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, ErrUsage), errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s %s: %v\n", prog, os.Args[1], err)
		os.Exit(1)
	}
}

func usage(prog string, commands map[string]Command) {
	fmt.Fprintf(os.Stderr, "usage: %s COMMAND [flags] [args]\n\ncommands:\n", prog)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].Summary)
	}
}

// ParseInterspersed parses flags wherever they appear among the positional arguments
// (the flag package alone stops at the first positional one) and returns the
// positional ones.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
