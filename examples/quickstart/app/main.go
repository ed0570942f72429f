// Command hello is the small app that examples/quickstart bundles and builds for every
// platform. It reports the architecture it was compiled for and the machine the kernel
// (or QEMU) says it runs on, and fails when the two disagree: the check a multi-arch
// image's smoke test should make.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// machines maps GOARCH to what uname(2) reports for it.
var machines = map[string][]string{
	"amd64":   {"x86_64"},
	"arm64":   {"aarch64", "arm64"},
	"arm":     {"armv7l", "armv6l", "armv8l"},
	"386":     {"i686", "i386"},
	"ppc64le": {"ppc64le"},
	"s390x":   {"s390x"},
	"riscv64": {"riscv64"},
}

func main() {
	write := flag.String("write", "", "also write the report to this file")
	flag.Parse()

	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		fmt.Fprintln(os.Stderr, "uname:", err)
		os.Exit(2)
	}
	machine := cstr(u.Machine[:])
	report := fmt.Sprintf("hello from %s/%s, machine %s\n", runtime.GOOS, runtime.GOARCH, machine)
	fmt.Print(report)
	if *write != "" {
		if err := os.WriteFile(*write, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	for _, m := range machines[runtime.GOARCH] {
		if m == machine {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "built for %s but running on a %s machine\n", runtime.GOARCH, machine)
	os.Exit(1)
}

// cstr reads a NUL-terminated utsname field (int8 on some GOARCHes, uint8 on others).
func cstr[T int8 | uint8](b []T) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}
