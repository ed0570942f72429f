package smoke_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"

	"github.com/multiarch-sdk/multiarch/smoke"
)

func ExampleParse() {
	suite, err := smoke.Parse([]byte(`
commandTests:
  - name: arch
    command: uname
    args: ["-m"]
    expectedOutput: ["^(x86_64|aarch64)\n$"]
    timeout: 30s
fileTests:
  - path: /etc/passwd
    expectedContents: ["^root:"]
`))
	if err != nil {
		log.Fatal(err)
	}
	c := suite.Commands[0]
	fmt.Println(c.Name, c.Command, c.Args, c.Timeout)
	fmt.Println(suite.Files[0].Path)

	_, err = smoke.Parse([]byte(`commandTests: [{command: uname, expectedOutput: ["(x86"]}]`))
	fmt.Println(err)
	// Output:
	// arch uname [-m] 30s
	// /etc/passwd
	// invalid smoke test: command test 0 ("uname"): invalid regular expression "(x86": error parsing regexp: missing closing ): `(x86`
}

func ExampleRun() {
	ctx := context.Background()
	bk, err := client.New(ctx, "unix:///run/buildkit/buildkitd.sock")
	if err != nil {
		log.Fatal(err)
	}
	defer bk.Close()
	suite := smoke.Test{
		Commands: []smoke.CommandTest{{
			Command: "uname", Args: []string{"-m"},
			ExpectedOutput: []string{`^(x86_64|aarch64)\n$`},
			Timeout:        smoke.Duration(30 * time.Second),
		}},
		Scan: &smoke.ScanOptions{},
	}
	var targets []smoke.Target
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		targets = append(targets, smoke.Target{Platform: platforms.MustParse(p), Ref: "registry.example/app:candidate"})
	}
	rep, err := smoke.Run(ctx, smoke.NewBuildKitRunner(bk), targets, suite)
	if err != nil {
		log.Fatal(err)
	}
	rep.WriteText(os.Stdout)
	if err := rep.Err(); err != nil {
		log.Fatal(err) // do not tag the index
	}
}

func ExampleReport_WriteText() {
	exit := 1
	rep := &smoke.Report{Duration: smoke.Duration(900 * time.Millisecond), Targets: []smoke.TargetReport{{
		Target: smoke.Target{Platform: platforms.MustParse("linux/arm64"), Ref: "registry.example/app:1"},
		Results: []smoke.Result{
			{Name: "uname -m", Kind: smoke.KindCommand, Passed: true, Duration: smoke.Duration(310 * time.Millisecond)},
			{Name: "node -e require('sqlite3')", Kind: smoke.KindCommand, ExitCode: &exit,
				Failures: []string{"exit code 1, want 0"}, Duration: smoke.Duration(520 * time.Millisecond)},
		},
	}}}
	rep.WriteText(os.Stdout)
	// Output:
	// PLATFORM     KIND     CHECK                       RESULT  TIME
	// linux/arm64  command  uname -m                    pass    0.31s
	// linux/arm64  command  node -e require('sqlite3')  FAIL    0.52s
	// 2 checks, 1 failed, 0.90s
	//   linux/arm64 command "node -e require('sqlite3')": exit code 1, want 0
}

func ExampleScanImage() {
	ctx := context.Background()
	ref, err := name.ParseReference("registry.example/app:candidate")
	if err != nil {
		log.Fatal(err)
	}
	p := platforms.MustParse("linux/arm64")
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: p.OS, Architecture: p.Architecture}),
		remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		log.Fatal(err)
	}
	findings, err := smoke.ScanImage(ctx, img, p)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range findings {
		fmt.Println(f) // e.g. /srv/node_modules/sqlite3/build/Release/node_sqlite3.node: ET_DYN built for amd64 (...)
	}
}
