module github.com/wsio/wsio

go 1.26
