//go:build race

package sioclient_test

const raceEnabled = true
