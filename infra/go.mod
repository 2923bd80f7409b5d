module github.com/imagepipe/imagepipe/infra

go 1.26
