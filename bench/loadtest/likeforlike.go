package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// -peers also runs "refbot + libraries", like for like and not a peer:
// refbot's own source with likeforlike/libs.go.txt beside it, which links
// and starts the libraries coldtransfer must (zap, client_golang with its
// collectors served over HTTP, go-redis, a YAML parser), built against
// coldtransfer's go.mod so that the versions are the same. It does refbot's
// work, so only its memory says something (what those libraries cost): it
// runs scenario d alone, and the ÷ column never compares with it.

//go:embed likeforlike/libs.go.txt
var refbotLibraries []byte

// moduleLine is go.mod's module directive.
var moduleLine = regexp.MustCompile(`(?m)^module .*$`)

// prepareRefbotLibraries builds "refbot + libraries" into dir, as
// prepareRefbot builds refbot.
func prepareRefbotLibraries(ctx context.Context, peersDir, dir string, env []string, stderr io.Writer) impl {
	im := impl{name: "refbot + libraries", peer: true, likeForLike: true, scenarios: "d"}
	src := filepath.Join(dir, "refbot-libraries-src")
	if err := writeRefbotLibraries(ctx, filepath.Join(peersDir, "refbot"), src); err != nil {
		im.why = err.Error()
		return im
	}
	return buildGoPeer(ctx, im, src, dir, env, stderr)
}

// writeRefbotLibraries writes into src a module of refbot's Go files, the
// libraries' file, and coldtransfer's go.mod and go.sum under another module
// name.
func writeRefbotLibraries(ctx context.Context, refbot, src string) error {
	root, err := productRoot(ctx)
	if err != nil {
		return err
	}
	mains, err := filepath.Glob(filepath.Join(refbot, "*.go"))
	if err != nil || len(mains) == 0 {
		return fmt.Errorf("no Go files in %s", refbot)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"go.mod":          moduleLine.ReplaceAll(gomod, []byte("module refbotlibraries")),
		"go.sum":          gosum,
		"zz_libraries.go": refbotLibraries,
	}
	for _, m := range mains {
		if files[filepath.Base(m)], err = os.ReadFile(m); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
