package apierr

import (
	"bytes"
	"encoding/xml"
	"html"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Bounds on what the XML reader does, beyond the body limit.
const (
	maxXMLTokens = 4096
	maxXMLDepth  = 32
	maxXMLText   = 4096
)

// isHTML reports whether a body is an HTML page, by its Content-Type or
// its first bytes.
func isHTML(h http.Header, b []byte) bool {
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "text/html" || mt == "application/xhtml+xml" {
		return true
	}
	return hasPrefixFold(b, "<!doctype html") || hasPrefixFold(b, "<html")
}

// decodeHTML reads an HTML error page: its title is the message, less a
// leading status code that repeats the response's ("401 Authorization
// Required" is "Authorization Required", "401" is nothing); without a
// title, its first h1.
func decodeHTML(b []byte, status int) found {
	f := emptyFound()
	text := elementText(b, "title")
	if text == "" {
		text = elementText(b, "h1")
	}
	text = strings.Join(strings.Fields(text), " ")
	if code := strconv.Itoa(status); text == code {
		text = ""
	} else if rest, ok := strings.CutPrefix(text, code+" "); ok {
		text = rest
	}
	f.message.offer(text, rankMessage)
	return f
}

// elementText returns the text of the first element named tag in an HTML
// page, tags inside it removed and entities decoded, or "".
func elementText(b []byte, tag string) string {
	for from := 0; ; {
		i := indexFold(b[from:], "<"+tag)
		if i < 0 {
			return ""
		}
		i += from
		from = i + 1
		end := i + 1 + len(tag)
		if end >= len(b) || b[end] != '>' && b[end] != ' ' && b[end] != '\t' && b[end] != '\n' {
			continue // <titles>, <h1x>: another element
		}
		open := bytes.IndexByte(b[end:], '>')
		if open < 0 {
			return ""
		}
		start := end + open + 1
		stop := indexFold(b[start:], "</"+tag)
		if stop < 0 {
			return ""
		}
		return html.UnescapeString(stripTags(b[start : start+stop]))
	}
}

// stripTags removes markup from a fragment of HTML.
func stripTags(b []byte) string {
	var out strings.Builder
	in := false
	for _, c := range b {
		switch {
		case c == '<':
			in = true
		case c == '>':
			in = false
			out.WriteByte(' ')
		case !in:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// decodeXML reads an XML error document: each element that holds only
// text is classified by its name like a JSON member (<Code>, <Message>,
// <RequestId>), wherever it is in the document.
func decodeXML(b []byte, status int) found {
	f := emptyFound()
	d := jsonDecoder{status: status}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	type frame struct {
		name     string
		text     strings.Builder
		children bool
	}
	var stack []*frame
	for n := 0; n < maxXMLTokens; n++ {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return f
			}
			if len(stack) > 0 {
				stack[len(stack)-1].children = true
			}
			stack = append(stack, &frame{name: t.Name.Local})
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1].text.Len() < maxXMLText {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return f // encoding/xml reports a stray end tag as an error first
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !top.children {
				d.text(&f, top.name, normName(top.name), strings.TrimSpace(top.text.String()))
			}
		}
	}
	return f
}

// hasPrefixFold reports whether b starts with prefix, ignoring ASCII case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// indexFold returns the index of the first s in b, ignoring ASCII case, or
// -1. s is a tag: short, so the search stays linear in b, and starting
// with '<', which has no case.
func indexFold(b []byte, s string) int {
	want := []byte(s)
	for i := 0; i+len(want) <= len(b); i++ {
		if b[i] == want[0] && bytes.EqualFold(b[i:i+len(want)], want) {
			return i
		}
	}
	return -1
}
