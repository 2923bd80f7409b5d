package lambdart

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// maxLogLine is where a line without a newline is cut, as Lambda cuts log events at
// 256 KB.
const maxLogLine = 256 * 1024

// tailBytes is how much log Invoke with LogType Tail returns.
const tailBytes = 4096

// logPipe reads one of a process's output streams line by line. taken counts bytes
// read from the pipe, consumed bytes whose lines were handled; with the pipe's
// unread count they let drain wait until what the process wrote has been seen.
type logPipe struct {
	r        *os.File
	taken    atomic.Int64
	consumed atomic.Int64
	done     chan struct{}
}

// read hands each line to emit until the pipe closes.
func (p *logPipe) read(emit func(line []byte)) {
	defer close(p.done)
	buf := make([]byte, 64*1024)
	var partial []byte
	for {
		n, err := p.r.Read(buf)
		p.taken.Add(int64(n))
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				partial = append(partial, data...)
				if len(partial) >= maxLogLine {
					emit(partial)
					partial = partial[:0]
				}
				break
			}
			if len(partial) > 0 {
				partial = append(partial, data[:i]...)
				emit(partial)
				partial = partial[:0]
			} else {
				emit(data[:i])
			}
			data = data[i+1:]
		}
		p.consumed.Add(int64(n))
		if err != nil {
			if len(partial) > 0 {
				emit(partial)
			}
			_ = p.r.Close()
			return
		}
	}
}

// drain waits, until deadline, for the lines already written to the pipe to be
// handled, so that an invocation's log tail holds what the function printed before
// it answered. (A line still unterminated is not waited for.)
func (p *logPipe) drain(deadline time.Time) {
	select {
	case <-p.done:
		return
	default:
	}
	target := pendingBytes(p.r) + p.taken.Load()
	for p.consumed.Load() < target && time.Now().Before(deadline) {
		select {
		case <-p.done:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// rawJSON is a log line that is a JSON object: the JSON handler embeds it as is, the
// text handler prints it as a string.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
func (r rawJSON) MarshalText() ([]byte, error) { return r, nil }

// logLine sends one line of a function's output to the twin's logger: one record a
// line, tagged with the function (and request) it came from. A JSON line (as the
// functions' slog JSON handlers write) keeps its level and message and is attached
// whole as "record".
func (s *Service) logLine(function, requestID, stream string, line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return
	}
	attrs := []slog.Attr{slog.String("function", function), slog.String("stream", stream)}
	if requestID != "" {
		attrs = append(attrs, slog.String("requestId", requestID))
	}
	level, msg := slog.LevelInfo, string(line)
	if line[0] == '{' && json.Valid(line) {
		var v struct {
			Level   string `json:"level"`
			Msg     string `json:"msg"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(line, &v)
		level = parseLevel(v.Level)
		msg = v.Msg
		if msg == "" {
			msg = v.Message
		}
		attrs = append(attrs, slog.Any("record", rawJSON(bytes.Clone(line))))
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}

func parseLevel(s string) slog.Level {
	switch strings.ToUpper(s) {
	case "DEBUG", "TRACE":
		return slog.LevelDebug
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// tail is an invocation's log as Invoke's LogType Tail returns it; it keeps only
// what the last 4 KB can need.
type tail struct {
	buf []byte
}

func (t *tail) add(line []byte) {
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	if len(t.buf) > 4*tailBytes {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-tailBytes:]...)
	}
}

func (t *tail) last() []byte {
	if len(t.buf) > tailBytes {
		return t.buf[len(t.buf)-tailBytes:]
	}
	return t.buf
}
