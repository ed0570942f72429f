package qemu

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Entry is one registration in binfmt_misc, as the kernel prints it in <root>/<name>:
//
//	enabled
//	interpreter /usr/bin/qemu-aarch64-static
//	flags: PF
//	offset 0
//	magic 7f454c460201010000000000000000000200b700
//	mask ffffffffffffff00fffffffffffffffffeffffff
//
// An extension entry (type E, e.g. "jar") prints "extension .jar" instead of offset,
// magic and mask.
type Entry struct {
	Name        string
	Enabled     bool
	Interpreter string
	// Flags as the kernel prints them, in its order: P (preserve argv[0]), O (open the
	// binary), C (credentials of the binary; implies O), F (fix binary: the interpreter
	// is opened once at registration, so it works in containers and chroots).
	Flags     string
	Offset    int
	Magic     []byte // as stored by the kernel (already masked); nil for extension entries
	Mask      []byte // nil when the entry matches Magic exactly
	Extension string // ".jar" for extension entries; empty for magic entries
}

// HasFlag reports whether f (one of 'P', 'O', 'C', 'F') is set.
func (e Entry) HasFlag(f byte) bool { return strings.IndexByte(e.Flags, f) >= 0 }

// Matches reports whether the kernel would hand a file starting with header to this
// entry (ignoring Enabled): the bytes at Offset, masked, equal the masked magic.
func (e Entry) Matches(header []byte) bool {
	if e.Magic == nil || e.Offset < 0 || e.Offset+len(e.Magic) > len(header) {
		return false
	}
	for i, m := range e.Magic {
		k := byte(0xff)
		if e.Mask != nil {
			k = e.Mask[i]
		}
		if (header[e.Offset+i]^m)&k != 0 {
			return false
		}
	}
	return true
}

// ParseEntry parses the content of the binfmt_misc file of entry name. It accepts the
// lines in any order and ignores lines it does not know (a later kernel may add some),
// but requires the status line and an interpreter, and consistent magic and mask.
func ParseEntry(name string, data []byte) (Entry, error) {
	e := Entry{Name: name}
	var haveStatus, haveInterp bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		key, val, _ := strings.Cut(line, " ")
		var err error
		switch key {
		case "enabled", "disabled":
			if haveStatus || val != "" {
				return Entry{}, parseErr(name, line, "a second status line")
			}
			e.Enabled, haveStatus = key == "enabled", true
		case "interpreter":
			if val == "" {
				return Entry{}, parseErr(name, line, "an empty interpreter")
			}
			e.Interpreter, haveInterp = val, true
		case "flags:":
			if strings.Trim(val, "POCF") != "" {
				return Entry{}, parseErr(name, line, "an unknown flag")
			}
			e.Flags = val
		case "offset":
			if e.Offset, err = strconv.Atoi(val); err != nil || e.Offset < 0 {
				return Entry{}, parseErr(name, line, "a bad offset")
			}
		case "magic":
			if e.Magic, err = hex.DecodeString(val); err != nil || len(e.Magic) == 0 {
				return Entry{}, parseErr(name, line, "bad hex")
			}
		case "mask":
			if e.Mask, err = hex.DecodeString(val); err != nil || len(e.Mask) == 0 {
				return Entry{}, parseErr(name, line, "bad hex")
			}
		case "extension":
			if !strings.HasPrefix(val, ".") || len(val) < 2 {
				return Entry{}, parseErr(name, line, "a bad extension")
			}
			e.Extension = val
		}
	}
	if err := sc.Err(); err != nil {
		return Entry{}, parseErr(name, "", "an unreadable line: "+err.Error())
	}
	switch {
	case !haveStatus:
		return Entry{}, parseErr(name, "", "no enabled/disabled line")
	case !haveInterp:
		return Entry{}, parseErr(name, "", "no interpreter line")
	case e.Mask != nil && len(e.Mask) != len(e.Magic):
		return Entry{}, parseErr(name, "", fmt.Sprintf("a mask of %d bytes for a magic of %d", len(e.Mask), len(e.Magic)))
	case e.Extension != "" && e.Magic != nil:
		return Entry{}, parseErr(name, "", "both an extension and a magic")
	case e.Extension == "" && e.Magic == nil:
		return Entry{}, parseErr(name, "", "neither an extension nor a magic")
	}
	return e, nil
}

func parseErr(name, line, what string) error {
	if line != "" {
		return fmt.Errorf("qemu: binfmt_misc entry %q: line %q has %s", name, line, what)
	}
	return fmt.Errorf("qemu: binfmt_misc entry %q has %s", name, what)
}

// RegisterLine returns the line that, written to <root>/register, creates e:
// ":name:M:offset:magic:mask:interpreter:flags" for a magic entry, every magic and mask
// byte escaped as \xHH so that none can be read as the ':' delimiter, or
// ":name:E::ext::interpreter:flags" for an extension entry. Flag O is implied by C and
// is not written.
func (e Entry) RegisterLine() string {
	flags := strings.ReplaceAll(e.Flags, "O", "")
	if e.Extension != "" {
		return fmt.Sprintf(":%s:E::%s::%s:%s", e.Name, strings.TrimPrefix(e.Extension, "."), e.Interpreter, flags)
	}
	esc := func(b []byte) string {
		var s strings.Builder
		for _, c := range b {
			fmt.Fprintf(&s, `\x%02x`, c)
		}
		return s.String()
	}
	return fmt.Sprintf(":%s:M:%d:%s:%s:%s:%s", e.Name, e.Offset, esc(e.Magic), esc(e.Mask), e.Interpreter, flags)
}

// String formats e the way the kernel prints <root>/<name>.
func (e Entry) String() string {
	var b strings.Builder
	if e.Enabled {
		b.WriteString("enabled\n")
	} else {
		b.WriteString("disabled\n")
	}
	fmt.Fprintf(&b, "interpreter %s\nflags: %s\n", e.Interpreter, e.Flags)
	if e.Extension != "" {
		fmt.Fprintf(&b, "extension %s\n", e.Extension)
		return b.String()
	}
	fmt.Fprintf(&b, "offset %d\nmagic %x\n", e.Offset, e.Magic)
	if e.Mask != nil {
		fmt.Fprintf(&b, "mask %x\n", e.Mask)
	}
	return b.String()
}
