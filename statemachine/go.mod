module github.com/imagepipe/imagepipe/statemachine

go 1.26.0

// Tests check the definitions against the error names functions/pipeline declares.
require github.com/imagepipe/imagepipe/functions v0.0.0

replace github.com/imagepipe/imagepipe/functions => ../functions
