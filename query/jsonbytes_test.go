package query

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Strings that JSON output must give back byte for byte.
var jsonRoundTripStrings = []string{
	"plain",
	"caf\xe9.png",                  // Latin-1, not UTF-8
	"\xff\xfe\x80 lone bytes \xc3", // stray and truncated sequences
	"\xed\xb2\x80 an encoded surrogate",
	"é ok, \"quoted\", back\\slash, tab\t, nl\n, nul\x00, \u2028, <&>",
	`looks like an escape: \udcff and \\udcff`,
	"mixed \xe9 and é and \U0001F600",
}

// JSON output keeps bytes that are not UTF-8: AppendJSON writes them as
// \udcXX escapes and DecodeJSONString reads them back.
func TestJSONKeepsInvalidUTF8(t *testing.T) {
	for _, s := range jsonRoundTripStrings {
		lit := string(appendJSONString(nil, s))
		if !json.Valid([]byte(lit)) {
			t.Errorf("%q: not valid JSON: %s", s, lit)
		}
		got, err := DecodeJSONString(lit)
		if err != nil || got != s {
			t.Errorf("%q: written %s, read back %q (%v)", s, lit, got, err)
		}
	}
	// Valid text is written as it is, without HTML escapes.
	if got, want := string(appendJSONString(nil, "é<&>\n")), `"é<&>\n"`; got != want {
		t.Errorf("valid text: %s, want %s", got, want)
	}
	if _, err := DecodeJSONString(`"unterminated`); err == nil {
		t.Error("a bad literal decoded")
	}
}

// A file name that is not UTF-8 survives INTO OUTFILE … .json and .jsonl.
func TestOutfileJSONRoundTripsFileNames(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	dir := filepath.Join(root, "odd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "caf\xe9 \xff.png")
	data, err := os.ReadFile(filepath.Join(root, "data", "cat_01.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(odd, data, 0o644); err != nil {
		t.Skip("this file system refuses names that are not UTF-8:", err)
	}
	d, err := Open(":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Exec(ctx, "CREATE DATASET o FROM IMAGES ?", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "UPDATE o SET note = ?", jsonRoundTripStrings[2]); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, name := range []string{"o.json", "o.jsonl"} {
		path := filepath.Join(out, name)
		if _, err := d.Exec(ctx, "SELECT filepath, note FROM o INTO OUTFILE ?", path); err != nil {
			t.Fatal(err)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]json.RawMessage
		if name == "o.json" {
			err = json.Unmarshal(text, &rows)
		} else {
			sc := bufio.NewScanner(strings.NewReader(string(text)))
			for sc.Scan() {
				var row map[string]json.RawMessage
				if err = json.Unmarshal(sc.Bytes(), &row); err != nil {
					break
				}
				rows = append(rows, row)
			}
		}
		if err != nil || len(rows) != 1 {
			t.Fatalf("%s: %d rows, %v:\n%s", name, len(rows), err, text)
		}
		for col, want := range map[string]string{"filepath": odd, "note": jsonRoundTripStrings[2]} {
			got, err := DecodeJSONString(string(rows[0][col]))
			if err != nil || got != want {
				t.Errorf("%s: %s read back %q, want %q (%v)", name, col, got, want, err)
			}
		}
	}
	// Python's surrogateescape reads the same form, where python3 exists.
	py, err := exec.LookPath("python3")
	if err != nil {
		return
	}
	cmd := exec.Command(py, "-c", `import json,sys
for line in open(sys.argv[1], encoding="utf-8"):
    sys.stdout.buffer.write(json.loads(line)["filepath"].encode("utf-8", "surrogateescape"))`, filepath.Join(out, "o.jsonl"))
	got, err := cmd.Output()
	if err != nil || string(got) != odd {
		t.Errorf("python3 surrogateescape read %q, want %q (%v)", got, odd, err)
	}
}

// INTO OUTFILE never writes into something that is there: a FIFO or a
// device is refused at once, without blocking on it.
func TestOutfileRefusesFIFOAndDevice(t *testing.T) {
	d := openFixtureDB(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "out.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	device := filepath.Join(dir, "zero.csv")
	if err := os.Symlink("/dev/zero", device); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{fifo, device} {
		done := make(chan error, 1)
		go func() {
			_, err := d.Exec(context.Background(), "SELECT id FROM walkthrough INTO OUTFILE ?", target)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrFileExists) {
				t.Errorf("INTO OUTFILE %s: %v", target, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("INTO OUTFILE %s blocked", target)
		}
	}
}
