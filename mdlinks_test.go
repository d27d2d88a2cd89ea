package rekey_test

// A checker for the relative links of Markdown files, as GitHub renders
// them: a link to a file or directory of the repository must name one that
// exists, and a #fragment of a link to a Markdown file must name an anchor
// that GitHub generates for it (a heading, or an HTML id or name).

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// mdLink is a link target found in a Markdown file, with its line (from 1).
type mdLink struct {
	line   int
	target string
}

var (
	// fenceOpen matches the opening of a fenced code block: up to three
	// spaces, then three or more backticks or tildes.
	fenceOpen = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	// atxHeading matches "# Title" to "###### Title"; the text is group 2.
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	// setextUnderline matches the line under a setext heading.
	setextUnderline = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	// atxClosing matches the optional closing run of #s of an ATX heading.
	atxClosing = regexp.MustCompile(`[ \t]+#+$`)
	// refDefinition matches a link reference definition: [label]: target.
	refDefinition = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:[ \t]*(<[^>]*>|\S+)`)
	// htmlAttr matches href, src, id and name attributes of HTML in Markdown.
	htmlAttr = regexp.MustCompile(`(?i)\b(href|src|id|name)\s*=\s*("[^"]*"|'[^']*')`)
	// urlScheme matches a target that is an absolute URL (https:, mailto:).
	urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	// inlineLink matches a Markdown inline link or image, [text](target),
	// with the text's brackets balanced one level deep.
	inlineLink = regexp.MustCompile(`\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(`)
)

// mdLines returns the lines of a Markdown document, with the lines of
// fenced code blocks (fences included) blanked out.
func mdLines(src string) []string {
	lines := strings.Split(src, "\n")
	var fence string // the open fence's run of backticks or tildes
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		lines[i] = line
		if fence != "" {
			trimmed := strings.TrimLeft(line, " ")
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
				fence = ""
			}
			lines[i] = ""
			continue
		}
		if m := fenceOpen.FindStringSubmatch(line); m != nil {
			fence = m[1]
			lines[i] = ""
		}
	}
	return lines
}

// segment is a piece of a line of Markdown: a code span's content, or
// the text between code spans.
type segment struct {
	code bool
	text string
}

// splitCodeSpans cuts line into code spans and the text around them, as
// CommonMark delimits them: a run of n backticks up to the next run of
// exactly n backticks.
func splitCodeSpans(line string) []segment {
	var segs []segment
	last := 0
	for i := 0; i < len(line); {
		if line[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(line); {
			if line[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(line) && line[j+m] == '`' {
				m++
			}
			if m == n {
				end = j
				break
			}
			j += m
		}
		if end < 0 {
			i += n
			continue
		}
		if last < i {
			segs = append(segs, segment{text: line[last:i]})
		}
		code := line[i+n : end]
		if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.TrimSpace(code) != "" {
			code = code[1 : len(code)-1]
		}
		segs = append(segs, segment{code: true, text: code})
		i = end + n
		last = i
	}
	if last < len(line) {
		segs = append(segs, segment{text: line[last:]})
	}
	return segs
}

// blankCodeSpans replaces every code span of line with spaces, so that
// what looks like a link inside one is not taken for one.
func blankCodeSpans(line string) string {
	var b strings.Builder
	for _, s := range splitCodeSpans(line) {
		if s.code {
			b.WriteString(strings.Repeat(" ", len(s.text)+2))
		} else {
			b.WriteString(s.text)
		}
	}
	return b.String()
}

// markdownLinks returns the link targets of a Markdown document: inline
// links and images, link reference definitions, and the href and src
// attributes of HTML, outside code blocks and code spans.
func markdownLinks(src string) []mdLink {
	var links []mdLink
	for i, line := range mdLines(src) {
		line = blankCodeSpans(line)
		if m := refDefinition.FindStringSubmatch(line); m != nil {
			links = append(links, mdLink{i + 1, strings.Trim(m[1], "<>")})
			continue
		}
		for _, loc := range inlineLink.FindAllStringIndex(line, -1) {
			if target, ok := linkDestination(line[loc[1]:]); ok {
				links = append(links, mdLink{i + 1, target})
			}
		}
		for _, m := range htmlAttr.FindAllStringSubmatch(line, -1) {
			if name := strings.ToLower(m[1]); name == "href" || name == "src" {
				links = append(links, mdLink{i + 1, m[2][1 : len(m[2])-1]})
			}
		}
	}
	return links
}

// linkDestination reads the destination that follows "](" in s: <...>, or
// text up to a space or the unbalanced closing parenthesis.
func linkDestination(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, "<") {
		end := strings.IndexByte(s, '>')
		return s[1:max(end, 1)], end > 0
	}
	depth := 0
	for i, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth == 0, r == ' ', r == '\t':
			return s[:i], i > 0
		case r == ')':
			depth--
		}
	}
	return "", false // the link continues on the next line: not checked
}

// markdownAnchors returns the anchors GitHub generates for a Markdown
// document: one per heading, and the id and name attributes of its HTML.
func markdownAnchors(src string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	add := func(heading string) {
		slug := githubSlug(heading)
		if n := seen[slug]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	lines := mdLines(src)
	for i, line := range lines {
		for _, m := range htmlAttr.FindAllStringSubmatch(line, -1) {
			if name := strings.ToLower(m[1]); name == "id" || name == "name" {
				anchors[m[2][1:len(m[2])-1]] = true
			}
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			add(atxClosing.ReplaceAllString(" "+m[2], ""))
			continue
		}
		if i > 0 && setextUnderline.MatchString(line) && isParagraphLine(lines[i-1]) {
			add(lines[i-1])
		}
	}
	return anchors
}

// isParagraphLine reports whether line can be the text of a setext heading:
// not blank, and not a heading, list item, quote or table row itself.
func isParagraphLine(line string) bool {
	t := strings.TrimSpace(line)
	if t == "" || atxHeading.MatchString(line) || setextUnderline.MatchString(line) || len(line)-len(strings.TrimLeft(line, " ")) > 3 {
		return false
	}
	for _, prefix := range []string{"- ", "* ", "+ ", ">", "|"} {
		if strings.HasPrefix(t, prefix) {
			return false
		}
	}
	return !regexp.MustCompile(`^\d+[.)] `).MatchString(t)
}

var (
	mdLinkText  = regexp.MustCompile(`!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?:\([^)]*\)|\[[^\]]*\])`)
	htmlTag     = regexp.MustCompile(`</?[A-Za-z][^>]*>`)
	underscores = regexp.MustCompile(`(^|[^\pL\pN])_+|_+([^\pL\pN]|$)`)
)

// githubSlug turns a heading's Markdown into the anchor GitHub gives it:
// the heading's text (code spans' content kept as it is; emphasis, links
// and HTML reduced to their text), lower-cased, with every character but
// letters, marks, digits, '-', '_' and spaces removed, and each space
// turned into a hyphen, as github-slugger does.
func githubSlug(heading string) string {
	var text strings.Builder
	for _, s := range splitCodeSpans(mdLinkText.ReplaceAllString(strings.TrimSpace(heading), "$1")) {
		if !s.code {
			s.text = htmlTag.ReplaceAllString(s.text, "")
			s.text = strings.NewReplacer("*", "", "~", "").Replace(s.text)
			s.text = underscores.ReplaceAllString(s.text, "$1$2") // _emphasis_, but not snake_case
		}
		text.WriteString(s.text)
	}
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text.String())) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.In(r, unicode.L, unicode.M, unicode.N):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkMarkdownLinks checks every relative link of every Markdown file in
// fsys (a repository's root; directories whose names start with "." are
// skipped) and returns what it found broken, one line each, sorted, and how
// many files and relative links it checked.
func checkMarkdownLinks(fsys fs.FS) (problems []string, files, links int, err error) {
	anchorsOf := map[string]map[string]bool{}
	anchors := func(name string) (map[string]bool, error) {
		if a, ok := anchorsOf[name]; ok {
			return a, nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		anchorsOf[name] = markdownAnchors(string(b))
		return anchorsOf[name], nil
	}
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.EqualFold(path.Ext(name), ".md") {
			return nil
		}
		files++
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		for _, l := range markdownLinks(string(src)) {
			if l.target == "" || urlScheme.MatchString(l.target) || strings.HasPrefix(l.target, "//") {
				continue
			}
			links++
			if p := checkLink(fsys, name, l.target, anchors); p != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", name, l.line, l.target, p))
			}
		}
		return nil
	})
	sort.Strings(problems)
	return problems, files, links, err
}

// checkLink resolves target, a relative link in the Markdown file from,
// and says what is wrong with it, or "" when it resolves.
func checkLink(fsys fs.FS, from, target string, anchors func(string) (map[string]bool, error)) string {
	rawPath, fragment, _ := strings.Cut(target, "#")
	if q := strings.IndexByte(rawPath, '?'); q >= 0 {
		rawPath = rawPath[:q]
	}
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		return "malformed path: " + err.Error()
	}
	var name string
	switch {
	case p == "":
		name = from
	case strings.HasPrefix(p, "/"): // GitHub resolves these from the repository's root
		name = path.Clean(strings.TrimPrefix(p, "/"))
	default:
		name = path.Join(path.Dir(from), p)
	}
	if name == ".." || strings.HasPrefix(name, "../") {
		return "leaves the repository"
	}
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return "no such file or directory " + name
	}
	if fragment == "" || info.IsDir() || !strings.EqualFold(path.Ext(name), ".md") {
		return ""
	}
	if f, err := url.PathUnescape(fragment); err == nil {
		fragment = f
	}
	a, err := anchors(name)
	if err != nil {
		return err.Error()
	}
	if !a[fragment] {
		return fmt.Sprintf("no heading in %s makes the anchor #%s", name, fragment)
	}
	return ""
}
