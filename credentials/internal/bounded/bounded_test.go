package bounded

import (
	"errors"
	"strings"
	"testing"
)

func TestBufferRefusesBeyondMax(t *testing.T) {
	calls := 0
	b := &Buffer{Max: 8, OnFull: func() { calls++ }}
	if n, err := b.Write([]byte("12345")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	for range 2 {
		if _, err := b.Write([]byte("6789")); !errors.Is(err, ErrFull) {
			t.Fatalf("Write past Max: err = %v, want ErrFull", err)
		}
	}
	if !b.Full() || string(b.Bytes()) != "12345" || calls != 1 {
		t.Errorf("Full = %v, Bytes = %q, OnFull calls = %d", b.Full(), b.Bytes(), calls)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	cases := []struct {
		writes    []string
		want      string
		truncated bool
	}{
		{[]string{"abc", "def"}, "abcdef", false},
		{[]string{"abcdefgh"}, "abcdefgh", false},
		{[]string{"abcdefghij"}, "cdefghij", true},
		{[]string{"abcde", "fghij"}, "cdefghij", true},
		{[]string{"a", "bcdefghi"}, "bcdefghi", true},
		{[]string{"abcdefgh", "ij", "klm"}, "fghijklm", true},
	}
	for _, tc := range cases {
		tl := &Tail{Max: 8}
		for _, w := range tc.writes {
			if n, err := tl.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if string(tl.Bytes()) != tc.want || tl.Truncated() != tc.truncated {
			t.Errorf("writes %q: tail %q truncated %v, want %q %v", tc.writes, tl.Bytes(), tl.Truncated(), tc.want, tc.truncated)
		}
	}
}

func TestSanitize(t *testing.T) {
	cases := map[string]struct {
		in        string
		truncated bool
		want      string
	}{
		"plain":         {"permission denied", false, "permission denied"},
		"colours":       {"\x1b[31;1merror\x1b[0m: no", false, "error: no"},
		"title escape":  {"\x1b]0;pwned\x07ok", false, "ok"},
		"lines":         {"one\r\ntwo\n\tthree\n", false, "one two three"},
		"controls":      {"a\x00b\x07c\x7fd", false, "abcd"},
		"bidi override": {"file\u202etxt.exe", false, "filetxt.exe"},
		"cut rune":      {"\xa9t\u00e9", true, "…té"},
		"empty":         {" \n ", true, ""},
	}
	for name, tc := range cases {
		if got := Sanitize([]byte(tc.in), tc.truncated); got != tc.want {
			t.Errorf("%s: Sanitize(%q) = %q, want %q", name, tc.in, got, tc.want)
		}
		if got := Sanitize([]byte(tc.in), tc.truncated); strings.ContainsAny(got, "\x1b\n\r\t\x00") {
			t.Errorf("%s: %q still has control characters", name, got)
		}
	}
}
