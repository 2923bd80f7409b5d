module github.com/imagepipe/imagepipe/test

go 1.26
