module github.com/rdmasim/rdmasim

go 1.26.0

require golang.org/x/sys v0.50.0

require (
	github.com/anishathalye/porcupine v1.3.1
	gonum.org/v1/gonum v0.17.0
	pgregory.net/rapid v1.3.0
)
