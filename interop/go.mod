module github.com/wsio/wsio/interop

go 1.26

require (
	github.com/wsio/wsio v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/wsio/wsio => ../
