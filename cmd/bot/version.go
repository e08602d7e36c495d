package main

import "runtime/debug"

// version is the release this binary is, set when it is built:
//
//	go build -ldflags "-X main.version=v1.4.0" ./cmd/bot
//
// Left empty, buildVersion falls back to what the go command recorded.
var version string

// buildVersion is the version coldtransfer_build_info and -version show:
// the -ldflags one, else the module version the go command stamped (a
// pseudo-version from the commit for a build in a git checkout, "(devel)"
// otherwise).
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
