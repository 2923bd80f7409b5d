// Command imagepipe-pipeline holds the imagepipe commands that link the twin and the
// AWS SDK (serve, upload, load, redrive); `imagepipe` runs it for them.
package main

import "github.com/imagepipe/imagepipe/local/cli"

var commands = map[string]cli.Command{}

func main() { cli.Main("imagepipe", commands) }
