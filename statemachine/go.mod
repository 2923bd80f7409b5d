module github.com/imagepipe/imagepipe/statemachine

go 1.26
