// Command imagepipe is the pipeline's command-line tool, on the same code paths as the
// Lambdas. The image commands (inspect, thumbnail) and the engine and cost commands
// live in this small binary, so that they start in milliseconds; the twin and the
// commands that talk to AWS run from imagepipe-pipeline, next to it (delegate.go).
package main

import "github.com/imagepipe/imagepipe/local/cli"

// commands lists every subcommand; each lives in a file named after it.
var commands = map[string]cli.Command{}

func main() { cli.Main("imagepipe", commands) }
