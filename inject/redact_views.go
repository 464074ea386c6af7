package inject

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sort"
	"unicode/utf8"
)

// NewSecretMatcher compiles a matcher for secret values: each value in every form Forms lists
// (usernames are those of its Basic forms), and the output is read the ways a reader could take
// a secret back from it, not only byte for byte:
//
//   - with each short line break taken out (one "\n" or "\r\n", or two of "\r" and "\n"; a longer
//     run ends the text like any other byte): base64 wrapped at any column by base64, openssl or a
//     MIME writer is one run, and so is a value broken over lines;
//   - percent-decoded: %XX in either case, whatever set of characters the encoder left alone
//     (encodeURIComponent, Python's quote, Go's QueryEscape and PathEscape, lower-case %2f), and,
//     when a value holds a space, also with '+' read as a space (quote_plus, HTML forms);
//   - backslash-unescaped, as JSON (\uXXXX in either case, surrogate pairs, \/ \" \\ \n \r \t \b
//     \f), netrc, .npmrc (\; \#) and git config files escape: any other "\c" reads as c;
//   - XML-unescaped: &amp; &lt; &gt; &quot; &apos; and numeric references &#N; &#xH; (up to 8
//     digits), as NuGet.Config and Maven settings are written.
//
// Each reading is matched against every form, so base64 inside a URL query (%2B, %2F, %3D), or
// wrapped base64 inside a JSON string, is caught too. The escaped readings are made only around an
// escape character ('%', '\\', '&', and '+' when a value holds a space): in output without them,
// matching costs what it costs for the plain forms.
//
// Besides the percent-encoding of a JSON string or an XML attribute (a URL with the token in it),
// the readings apply each escaping on its own: a JSON string inside a URL, base64 of base64 are
// not read. Line breaks are taken out of each reading after decoding; a line break inside an
// escape ("%3\nD") is not. Redactors of the Matcher hold back at most MaxHeld bytes: what could
// still begin a form in any reading, an unfinished escape at the end of a write included.
func NewSecretMatcher(values []string, usernames ...string) *Matcher {
	var pats [][]byte
	seen := map[string]bool{}
	space := false
	for _, v := range values {
		for _, f := range Forms(v, usernames...) {
			if bytes.IndexByte(f, '\n') >= 0 {
				f = joinLines(nil, f, false, nil)
			}
			if len(f) < MinSecretLen || seen[string(f)] {
				continue
			}
			seen[string(f)] = true
			pats = append(pats, f)
			space = space || bytes.IndexByte(f, ' ') >= 0
		}
	}
	if len(pats) == 0 {
		return NewMatcher(nil)
	}
	c := newCore(pats, false)
	m := &Matcher{core: c, secret: true}

	// '+' reads as a space only in a reading of its own, made where a form holds a space
	// (quote_plus writes a space as '+' and a '+' as %2B; PathEscape leaves '+' alone).
	m.views = []decodeView{
		{kind: '%', intro: []byte{'%'}, c: c},
		{kind: '\\', intro: []byte{'\\'}, c: c},
		{kind: '&', intro: []byte{'&'}, c: c},
		// A URL in a JSON string or an XML attribute.
		{kind: '\\', then: '%', intro: []byte{'\\'}, c: c},
		{kind: '&', then: '%', intro: []byte{'&'}, c: c},
	}
	if space {
		m.views = append(m.views,
			decodeView{kind: '+', intro: []byte{'%', '+'}, c: c},
			decodeView{kind: '\\', then: '+', intro: []byte{'\\'}, c: c},
			decodeView{kind: '&', then: '+', intro: []byte{'&'}, c: c})
	}
	var rel [256]bool
	for _, p := range pats {
		for _, b := range p {
			rel[b] = true
		}
	}
	rel['\n'], rel['\r'] = true, true
	held := 3 * c.maxLen // a form wrapped at column 1 with CRLF
	for i := range m.views {
		v := &m.views[i]
		v.rel = rel
		if v.then != 0 {
			for _, b := range []byte("%+0123456789abcdefABCDEF") {
				v.rel[b] = true
			}
		}
		v.runs = v.rel
		for b := range 256 {
			v.runs[b] = v.runs[b] || isAlnum(byte(b)) || b == '#' || b == ';' || b == '%' || b == '+' || b == '\\' || b == '&'
		}
		// A form of L bytes in a reading comes from at most L escapes of `per` bytes, with up
		// to two escaped line-break bytes between each two of them.
		per := map[byte]int{'%': 3, '+': 3, '\\': 6, '&': maxEntity}[v.kind]
		if v.then != 0 {
			per *= 3
		}
		v.radius = per * (3*v.c.maxLen - 2)
		held = max(held, 3*v.radius)
	}
	m.maxHeld = held
	m.tailLen = 3*c.win + 3
	return m
}

// maxEntity is the longest XML character reference read: "&#x" and 8 digits and ";".
const maxEntity = 12

// decodeView is one escaped reading of the output.
type decodeView struct {
	kind   byte   // '%': percent-encoding, '+': the same with '+' for a space, '\\': backslash escapes, '&': XML references
	then   byte   // when not 0, what the decoded text is decoded as next ('%' or '+')
	intro  []byte // the bytes that begin an escape
	c      *core  // the forms, as this reading shows them
	radius int    // a match that holds an escape lies within this many bytes of it
	// rel holds the bytes that can be part of a match in this reading: those of the forms, line
	// breaks (taken out), and for a nested reading what its second decoding reads.
	rel [256]bool
	// runs holds the bytes a match in this reading can be made of in the data: those of rel,
	// the escape characters and what follows them in an escape (letters, digits, '#', ';');
	// after a backslash, any byte.
	runs [256]bool
}

// removal records line-break bytes taken out of the joined text: from joined position at on,
// raw position = joined position + delta.
type removal struct{ at, delta int }

// reader holds the buffers of a Redactor of a secret matcher; they grow to the largest write
// and are reused, so that redacting allocates nothing once they have.
type reader struct {
	buf    []byte    // context, held tail and write, one after the other
	ctx    [16]byte  // the last bytes written on before the held tail
	ctxLen int       // how many of ctx are in use
	ctxOdd bool      // an odd run of backslashes ends right before ctx: its first byte is escaped
	j      []byte    // the tail of the output with short line breaks taken out
	rm     []removal // where they were
	lj     []byte    // the same for a stretch around a line break
	// introAt is the first position of each of introBytes in the data of this scan, -1 before
	// it is looked up.
	introAt [4]int
	lrm     []removal
	d       decoded // a decoded region of j
	d2      decoded // the second decoding of a nested reading
	found   []span
	spans   []span // matches in all readings, in positions of the raw data
}

func isBreak(c byte) bool { return c == '\n' || c == '\r' }

// joinLines appends src to dst with every short run of line-break bytes (at most two of '\r'
// and '\n', with a '\n' among them) taken out, recording each removal in *rm when rm is not nil.
// When partial (more may come), '\r' bytes at the very end are taken out too: they may be the
// first half of a "\r\n".
func joinLines(dst, src []byte, partial bool, rm *[]removal) []byte {
	i, n, delta := 0, len(src), 0
	base := len(dst)
	for i < n {
		k := bytes.IndexByte(src[i:], '\n')
		if k < 0 {
			dst = append(dst, src[i:]...)
			i = n
			break
		}
		nl := i + k
		a := nl
		for a > i && src[a-1] == '\r' {
			a--
		}
		b := nl + 1
		for b < n && isBreak(src[b]) {
			b++
		}
		dst = append(dst, src[i:a]...)
		if b-a <= 2 {
			delta += b - a
			if rm != nil {
				*rm = append(*rm, removal{len(dst) - base, delta})
			}
		} else {
			dst = append(dst, src[a:b]...)
		}
		i = b
	}
	if partial {
		cr := 0
		for cr < len(dst)-base && cr < 2 && dst[len(dst)-1-cr] == '\r' {
			cr++
		}
		if cr > 0 {
			dst = dst[:len(dst)-cr]
			delta += cr
			if rm != nil {
				*rm = append(*rm, removal{len(dst) - base, delta})
			}
		}
	}
	return dst
}

// rawOf is the position in the raw data of position x of a text joined with removals rm.
func rawOf(rm []removal, x int) int {
	i := sort.Search(len(rm), func(i int) bool { return rm[i].at > x })
	if i == 0 {
		return x
	}
	return x + rm[i-1].delta
}

// scanSecret finds the forms in the held tail followed by r.cur (the caller's write, if any),
// reports them to r.match and returns the stream position to hold from.
//
// When nothing is held, r.cur is scanned where it lies. Otherwise the held tail and r.cur are
// copied one after the other, after the last few bytes before the tail (already written on):
// the tail may begin in the middle of an escape ("7" of "%07" may begin a form as it is), which
// the readings must decode as the whole stream does.
func (r *Redactor) scanSecret(final bool) int64 {
	rd := &r.rd
	data, c0 := r.cur, 0
	if len(r.hold) > 0 {
		rd.buf = append(append(append(rd.buf[:0], rd.ctx[:rd.ctxLen]...), r.hold...), r.cur...)
		data, c0 = rd.buf, rd.ctxLen
	} else {
		rd.ctxOdd = false // the stream before is whole: an unfinished escape would be held
	}
	off := r.base - int64(c0) // stream position of data[0]
	hold := r.findSecret(data, c0, final)

	// Keep the bytes before the new held tail, and whether an odd run of backslashes ends
	// right before them.
	cs := max(hold-len(rd.ctx), 0)
	rd.ctxLen = copy(rd.ctx[:], data[cs:hold])
	q := cs - 1
	for q >= 0 && data[q] == '\\' {
		q--
	}
	odd := (cs-1-q)%2 == 1
	if q < 0 && c0 > 0 && rd.ctxOdd {
		odd = !odd
	}
	rd.ctxOdd = odd
	return off + int64(hold)
}

// findSecret matches data, whose first c0 bytes are context already written on, and returns the
// position in data to hold from (len(data) when nothing is held).
//
// The forms are matched in data with short line breaks taken out (joinLines), without copying
// most of it: a match that spans no line break is a match in data itself. Before the last
// tailLen bytes, data is scanned where it lies (see bulk); the tail, where a form may still be
// unfinished, is joined and scanned whole. The escaped readings are decoded around their escape
// characters only (see view).
func (r *Redactor) findSecret(data []byte, c0 int, final bool) int {
	rd, m := &r.rd, r.m
	n := len(data)
	rd.spans = rd.spans[:0]
	hold := n

	if h := rd.bulk(m.core, data, final); h >= 0 {
		hold = h
	}
	// The last few bytes, too few for a window of joined text, may begin a pattern.
	t0 := max(n-m.tailLen, 0)
	for t0 > 0 && isBreak(data[t0-1]) {
		t0--
	}
	rd.rm = rd.rm[:0]
	rd.j = joinLines(rd.j[:0], data[t0:], !final, &rd.rm)
	rd.found = rd.found[:0]
	if _, h := m.core.scan(rd.j, max(len(rd.j)-m.win+1, 0), len(rd.j), true, final, &rd.found); h >= 0 {
		hold = min(hold, t0+rawOf(rd.rm, h))
	}
	rd.introAt = [4]int{-1, -1, -1, -1}
	for i := range m.views {
		if h := rd.view(&m.views[i], data, final); h >= 0 && h < hold {
			hold = h
		}
	}
	hold = max(hold, c0) // what begins in the context was held (or not) by an earlier scan
	if len(rd.spans) > 1 {
		slices.SortFunc(rd.spans, func(a, b span) int { return a.start - b.start })
	}
	off := r.base - int64(c0)
	for _, s := range rd.spans {
		if s.start >= hold {
			break
		}
		if s.start >= c0 { // a match that starts in the context was found by an earlier scan
			r.match(off+int64(s.start), off+int64(s.end))
		}
	}
	return hold
}

// longestJoined is the raw length of the longest pattern of key k at the start of d with short
// line breaks taken out (0 if none), and whether one may run past the end of d (when partial).
// The caller has seen d agree with such a pattern up to a line break.
func (rd *reader) longestJoined(m *core, k uint32, d []byte, partial bool) (int, bool) {
	rd.lrm = rd.lrm[:0]
	rd.lj = joinLines(rd.lj[:0], d, partial, &rd.lrm)
	best, waiting, _ := m.longest(k, rd.lj, partial)
	if best == 0 {
		return 0, waiting
	}
	return rawOf(rd.lrm, best-1) + 1, waiting
}

// bulk finds the patterns in data read with short line breaks taken out (joinLines), scanning
// data where it lies: Wu-Manber (see core.scan) over the joined text, whose windows are read
// from data. Where the last block of a window holds no line-break byte, it is four bytes of the
// joined text as they lie; where it does, the four bytes of joined text before the window's end
// are gathered. Moving the window's end on by the shift of its last block in data moves it on
// by that much or less in the joined text, so no window of the joined text is skipped.
//
// It returns the position of the first pattern that runs past the end of data (-1: none), and
// stops there; unless final, the caller holds back from there.
func (rd *reader) bulk(m *core, data []byte, final bool) int {
	n := len(data)
	win := m.win
	if m.blk != 4 {
		// Windows shorter than a block; forms are never that short (MinSecretLen), so this
		// only keeps the matcher whole: join everything and scan it.
		rd.lrm = rd.lrm[:0]
		rd.lj = joinLines(rd.lj[:0], data, !final, &rd.lrm)
		rd.found = rd.found[:0]
		_, h := m.scan(rd.lj, 0, len(rd.lj), true, final, &rd.found)
		for _, f := range rd.found {
			rd.spans = append(rd.spans, span{rawOf(rd.lrm, f.start), rawOf(rd.lrm, f.end-1) + 1})
		}
		if h >= 0 {
			return rawOf(rd.lrm, h)
		}
		return -1
	}
	far := int(m.far)
	shift, hshift := m.shift, 32-m.shiftBits
	const ones, highs, lf, cr = 0x01010101, 0x80808080, 0x0a0a0a0a, 0x0d0d0d0d
	for e := win; e <= n; {
		var v uint32
		for {
			v = binary.LittleEndian.Uint32(data[e-4:])
			x, y := v^lf, v^cr
			if ((x-ones)&^x|(y-ones)&^y)&highs != 0 || shift[(v*hashMul)>>hshift] != uint8(far) {
				break
			}
			e += far
			if e > n {
				return -1
			}
		}
		x, y := v^lf, v^cr
		if ((x-ones)&^x|(y-ones)&^y)&highs != 0 {
			var ok bool
			if v, ok = joinedBlock(data, e); !ok {
				e++
				continue
			}
		}
		if sh := int(shift[(v*hashMul)>>hshift]); sh != 0 {
			e += sh
			continue
		}
		if h := rd.check(m, data, e, v, final); h >= 0 {
			return h
		}
		e++
	}
	return -1
}

// check looks for the patterns whose first window is the window of joined text ending at data
// position e, whose last block is v. It returns where the window starts if a pattern there may
// run past the end of data, else -1.
func (rd *reader) check(m *core, data []byte, e int, v uint32, final bool) int {
	s, ok := joinedBack(data, e, m.win)
	if !ok {
		return -1
	}
	end := min(len(data), s+3*m.maxLen+3) // enough data for any pattern, joined
	partial := end == len(data) && !final
	if e-s == m.win {
		// The window lies in data as it is.
		k := m.candKey(m.load(data[s:]), v)
		best, waiting, brk := m.longest(k, data[s:], partial)
		if brk && !waiting {
			b, w := rd.longestJoined(m, k, data[s:end], partial)
			best, waiting = max(best, b), w
		}
		if waiting {
			return s
		}
		if best > 0 {
			rd.spans = append(rd.spans, span{s, s + best})
		}
		return -1
	}
	rd.lrm = rd.lrm[:0]
	rd.lj = joinLines(rd.lj[:0], data[s:end], partial, &rd.lrm)
	if len(rd.lj) < m.win {
		return -1 // a '\r' at the end is not text yet; the tail scan holds it
	}
	k := m.candKey(m.load(rd.lj), m.load(rd.lj[m.win-4:]))
	best, waiting, _ := m.longest(k, rd.lj, partial)
	if waiting {
		return s
	}
	if best > 0 {
		rd.spans = append(rd.spans, span{s, s + rawOf(rd.lrm, best-1) + 1})
	}
	return -1
}

// breakRun returns the run of line-break bytes around data[x] and whether joinLines takes it
// out.
func breakRun(data []byte, x int) (rs, re int, short bool) {
	rs, re = x, x+1
	for rs > 0 && isBreak(data[rs-1]) {
		rs--
	}
	for re < len(data) && isBreak(data[re]) {
		re++
	}
	return rs, re, re-rs <= 2 && bytes.IndexByte(data[rs:re], '\n') >= 0
}

// joinedBack walks back count bytes of joined text from data position e and returns where they
// start; ok is false when data begins first.
func joinedBack(data []byte, e, count int) (s int, ok bool) {
	x := e
	for c := 0; c < count; {
		if x == 0 {
			return 0, false
		}
		x--
		if isBreak(data[x]) {
			if rs, _, short := breakRun(data, x); short {
				x = rs
				continue
			}
		}
		c++
	}
	return x, true
}

// joinedBlock is the last four bytes of joined text before data position e, as a block.
func joinedBlock(data []byte, e int) (uint32, bool) {
	var v uint32
	x := e
	for c := 0; c < 4; {
		if x == 0 {
			return 0, false
		}
		x--
		if isBreak(data[x]) {
			if rs, _, short := breakRun(data, x); short {
				x = rs
				continue
			}
		}
		v = v<<8 | uint32(data[x])
		c++
	}
	return v, true
}

// rawDelta is how many bytes the removals rm took out before raw position x.
func rawDelta(rm []removal, x int) int {
	d := 0
	for _, r := range rm {
		if r.at+r.delta > x {
			break
		}
		d = r.delta
	}
	return d
}

// view matches the reading v in each region of data around its escape characters, appends the
// matches to rd.spans and returns the position to hold from (-1: none).
func (rd *reader) view(v *decodeView, data []byte, final bool) int {
	j := data
	n := len(j)
	hold := -1
	// next[k] is the position of the next intro[k] at or after the search point, n when none.
	var next [2]int
	for k, c := range v.intro {
		next[k] = rd.firstOf(c, j)
	}
	if len(v.intro) < 2 {
		next[1] = n
	}
	// relevant says whether the escape at x can be part of a match: it decodes to a byte that is
	// in some form (or that a nested reading decodes further), or it is unfinished. Others (the
	// '&' of a query string, the '%' of "50%", the \" of a JSON string when no form holds a '"')
	// read as the text itself does, or as bytes no form holds.
	rel := &v.rel
	if v.then != 0 && rd.firstOf('%', j) == n {
		// No '%' in the data: the second decoding changes nothing unless the first makes one.
		rel = &onlyPercent
	}
	// A match lies inside a run of bytes that can belong to a form or to an escape (see
	// decodeView.runs); runs shorter than a window hold none.
	backslash := v.kind == '\\'
	inRun := func(q int) bool { return v.runs[j[q]] || backslash && q > 0 && j[q-1] == '\\' }
	rs, re := 0, -1 // the run around the last escape looked at
	runAround := func(x int) {
		if x >= rs && x < re {
			return
		}
		rs, re = x, x+1
		for rs > 0 && inRun(rs-1) {
			rs--
		}
		for re < n && inRun(re) {
			re++
		}
	}
	relevant := func(x int) bool {
		if x == 0 && backslash && rd.ctxOdd {
			return false
		}
		out, k, _, pend := decodeOne(v.kind, j, x, n, !final)
		if !pend {
			found := false
			for _, c := range out[:k] {
				found = found || rel[c]
			}
			if !found {
				return false
			}
		}
		runAround(x)
		return re-rs >= v.c.win || pend || re == n && !final
	}
	for {
		x := min(next[0], next[1])
		if x >= n {
			break
		}
		for k := range v.intro {
			if next[k] == x {
				next[k] = nextByte(j, x+1, v.intro[k])
			}
		}
		if !relevant(x) {
			continue
		}
		a, b := max(x-v.radius, rs), min(x+v.radius+1, re)
		for {
			// Take in every relevant escape within reach of the region (in the same run).
			grew := false
			for k := range v.intro {
				for next[k] < b {
					if y := next[k]; relevant(y) {
						b = min(max(b, y+v.radius+1), re)
						grew = true
					}
					next[k] = nextByte(j, next[k]+1, v.intro[k])
				}
			}
			if !grew {
				break
			}
		}
		if h := rd.region(v, data, a, b, final); h >= 0 && (hold < 0 || h < hold) {
			hold = h
		}
	}
	return hold
}

// firstOf is the first position of c in data, looked up once per scan for all the readings.
func (rd *reader) firstOf(c byte, data []byte) int {
	i := bytes.IndexByte(introBytes[:], c)
	if i < 0 {
		return nextByte(data, 0, c)
	}
	if rd.introAt[i] < 0 {
		rd.introAt[i] = nextByte(data, 0, c)
	}
	return rd.introAt[i]
}

var onlyPercent = [256]bool{'%': true}

var introBytes = [4]byte{'%', '\\', '&', '+'}

func nextByte(b []byte, from int, c byte) int {
	if from >= len(b) {
		return len(b)
	}
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return len(b)
}

// region decodes j[a:b] as reading v, matches it and returns the raw position to hold from (-1:
// none). At the end of the data, an unfinished escape is held back: it may still turn out to be
// the beginning of a form.
func (rd *reader) region(v *decodeView, data []byte, a, b int, final bool) int {
	atEnd := b == len(data) && !final
	d := &rd.d
	// A nested reading takes line breaks out only after its second decoding, so that it
	// reads no more than the second decoding alone where the first changes nothing.
	pending := d.decode(v.kind, data, a, b, atEnd, a == 0 && rd.ctxOdd, v.then == 0)
	start, end := d.start, d.end
	if v.then != 0 {
		// A nested reading: decode what the first one gave, and map back through both.
		d1, d2 := d, &rd.d2
		if p2 := d2.decode(v.then, d1.v, 0, len(d1.v), atEnd || pending >= 0, false, true); p2 >= 0 && (pending < 0 || d1.start(p2) < pending) {
			pending = d1.start(p2)
		}
		start = func(x int) int { return d1.start(d2.start(x)) }
		end = func(x int) int { return d1.end(d2.end(x)) }
		d = d2
	}
	rd.found = rd.found[:0]
	_, h := v.c.scan(d.v, 0, len(d.v), atEnd, final, &rd.found)
	for _, f := range rd.found {
		rd.spans = append(rd.spans, span{start(f.start), end(f.end)})
	}
	hold := -1
	if h >= 0 {
		hold = start(h)
	}
	if pending >= 0 && (hold < 0 || pending < hold) {
		hold = pending
	}
	return hold
}

// decoded is a decoded stretch of text, v, and where each of its bytes comes from in the source:
// segs, in order of position in v, each either a stretch copied as it is or the bytes of one
// escape.
type decoded struct {
	v     []byte
	segs  []dseg
	join  bool // take out short runs of line breaks
	run   int  // start in v of the current run of line breaks, -1 when none
	runNL bool // whether that run holds a '\n'
}

// dseg says where v[at:] (up to the next segment) comes from: source bytes raw on, one for one,
// when end < 0; else all of them from the escape at source [raw, end).
type dseg struct{ at, raw, end int32 }

// seg is the segment of v[x].
func (rd *decoded) seg(x int) dseg {
	i := sort.Search(len(rd.segs), func(i int) bool { return int(rd.segs[i].at) > x })
	return rd.segs[i-1]
}

// start is where in the source v[x] begins.
func (rd *decoded) start(x int) int {
	g := rd.seg(x)
	if g.end < 0 {
		return int(g.raw) + x - int(g.at)
	}
	return int(g.raw)
}

// end is where in the source v[x-1] ends.
func (rd *decoded) end(x int) int {
	g := rd.seg(x - 1)
	if g.end < 0 {
		return int(g.raw) + x - int(g.at)
	}
	return int(g.end)
}

// copied appends source bytes src, which start at source position s, as they are.
func (rd *decoded) copied(src []byte, s int) {
	p := len(rd.v)
	if n := len(rd.segs); n == 0 || rd.segs[n-1].end >= 0 || int(rd.segs[n-1].raw)+p-int(rd.segs[n-1].at) != s {
		rd.segs = append(rd.segs, dseg{int32(p), int32(s), -1})
	}
	rd.v = append(rd.v, src...)
}

// truncate cuts v to n bytes.
func (rd *decoded) truncate(n int) {
	rd.v = rd.v[:n]
	for len(rd.segs) > 0 && int(rd.segs[len(rd.segs)-1].at) >= n {
		rd.segs = rd.segs[:len(rd.segs)-1]
	}
}

// decode writes j[a:b], decoded as kind says ('%', '+', '\\' or '&'), into rd, taking out short
// runs of line breaks as joinLines does when join is set. It returns the position in j of an
// unfinished escape at the end of the data when atEnd (decoding stops there), else -1.
//
// escaped says j[a] is escaped by a backslash before it (not in j): it is read as it is.
func (rd *decoded) decode(kind byte, j []byte, a, b int, atEnd, escaped, join bool) (pending int) {
	rd.v, rd.segs = rd.v[:0], rd.segs[:0]
	rd.run, rd.join = -1, join
	pending = -1
	i := a
	if escaped && kind == '\\' && i < b {
		rd.put(j[i], i, i+1)
		i++
	}
	intro, intro2 := kind, byte(0)
	if kind == '+' {
		intro, intro2 = '%', '+'
	}
	for i < b {
		c := j[i]
		if rd.run < 0 && !isBreak(c) && !isIntro(kind, c) {
			// A stretch of plain text up to the next escape or line break, copied at once.
			k := nextByte(j[:b], i, intro)
			if intro2 != 0 {
				k = min(k, nextByte(j[:k], i, intro2))
			}
			k = nextByte(j[:k], i, '\n')
			for k > i && j[k-1] == '\r' {
				k--
			}
			rd.copied(j[i:k], i)
			i = k
			if i < b && !isIntro(kind, j[i]) {
				rd.put(j[i], i, i+1) // a line-break byte
				i++
			}
			continue
		}
		if !isIntro(kind, c) {
			rd.put(c, i, i+1)
			i++
			continue
		}
		out, n, e, pend := decodeOne(kind, j, i, b, atEnd)
		if pend {
			pending = i
			break
		}
		if n == 0 {
			rd.put(c, i, i+1)
			i++
			continue
		}
		for _, c := range out[:n] {
			rd.put(c, i, e)
		}
		i = e
	}
	if rd.run >= 0 && len(rd.v)-rd.run <= 2 && (rd.runNL || atEnd || pending >= 0) {
		rd.truncate(rd.run)
	}
	return pending
}

// put appends a decoded byte that came from j[s:e], taking out short runs of line breaks.
func (rd *decoded) put(c byte, s, e int) {
	if isBreak(c) && rd.join {
		if rd.run < 0 {
			rd.run, rd.runNL = len(rd.v), false
		}
		rd.runNL = rd.runNL || c == '\n'
	} else if rd.run >= 0 {
		if len(rd.v)-rd.run <= 2 && rd.runNL {
			rd.truncate(rd.run)
		}
		rd.run = -1
	}
	if e == s+1 {
		// One source byte for one byte: mapped as a copy, whatever it reads as.
		p := len(rd.v)
		if n := len(rd.segs); n == 0 || rd.segs[n-1].end >= 0 || int(rd.segs[n-1].raw)+p-int(rd.segs[n-1].at) != s {
			rd.segs = append(rd.segs, dseg{int32(p), int32(s), -1})
		}
	} else if n := len(rd.segs); n == 0 || rd.segs[n-1].raw != int32(s) || rd.segs[n-1].end != int32(e) {
		rd.segs = append(rd.segs, dseg{int32(len(rd.v)), int32(s), int32(e)})
	}
	rd.v = append(rd.v, c)
}

// isIntro says whether c begins an escape of kind.
func isIntro(kind, c byte) bool {
	switch kind {
	case '%':
		return c == '%'
	case '+':
		return c == '%' || c == '+'
	case '\\':
		return c == '\\'
	}
	return c == '&'
}

// decodeOne decodes the escape of kind at j[i] (j[i] begins one), reading no further than b. It
// returns the decoded bytes out[:n] and the end of the escape; n is 0 when j[i] begins no valid
// escape (it is read as it is), and pending says the escape is unfinished at the end of the
// data (when atEnd).
func decodeOne(kind byte, j []byte, i, b int, atEnd bool) (out [utf8.UTFMax]byte, n, e int, pending bool) {
	c := j[i]
	var r rune = -1 // a decoded code point, or
	var by byte     // a decoded byte
	ok := false
	e = i + 1
	switch {
	case kind == '+' && c == '+':
		by, ok = ' ', true
	case c == '%':
		d1, ok1 := hexVal(at(j, i+1, b))
		d2, ok2 := hexVal(at(j, i+2, b))
		switch {
		case ok1 && ok2:
			by, e, ok = byte(d1<<4|d2), i+3, true
		case atEnd && (i+1 == b || ok1 && i+2 == b):
			pending = true
		}
	case c == '\\':
		if i+1 == b {
			pending = atEnd
			break
		}
		ok, e = true, i+2
		switch x := j[i+1]; x {
		case 'n':
			by = '\n'
		case 'r':
			by = '\r'
		case 't':
			by = '\t'
		case 'b':
			by = '\b'
		case 'f':
			by = '\f'
		case 'u':
			u, nd := hexRun(j[i+2:b], 4)
			if nd < 4 {
				ok = false
				pending = atEnd && i+2+nd == b
				break
			}
			r, e = u, i+6
			if 0xd800 <= u && u < 0xdc00 {
				// A high surrogate: a low one should follow.
				rest := j[e:b]
				if len(rest) >= 2 && rest[0] == '\\' && rest[1] == 'u' {
					if lo, nl := hexRun(rest[2:], 4); nl == 4 && 0xdc00 <= lo && lo < 0xe000 {
						r, e = 0x10000+(u-0xd800)<<10+(lo-0xdc00), e+6
					} else if atEnd && e+2+nl == b {
						pending = true
					}
				} else if atEnd && len(rest) < 2 && (len(rest) == 0 || rest[0] == '\\') {
					pending = true
				}
			}
		default:
			by = x
		}
	case c == '&':
		k := i + 1
		for k < b && k-i < maxEntity && (isAlnum(j[k]) || j[k] == '#') {
			k++
		}
		if k < b && j[k] == ';' {
			r, ok = entity(j[i+1 : k])
			e = k + 1
		} else if atEnd && k == b && k-i < maxEntity {
			pending = true
		}
	}
	switch {
	case pending || !ok:
		return out, 0, i + 1, pending
	case r >= 0:
		return out, utf8.EncodeRune(out[:], r), e, false
	}
	out[0] = by
	return out, 1, e, false
}

// at is j[i] when i < b, else 0 (not a hex digit).
func at(j []byte, i, b int) byte {
	if i < b {
		return j[i]
	}
	return 0
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// entity decodes the name of an XML reference (between '&' and ';').
func entity(name []byte) (rune, bool) {
	switch string(name) {
	case "amp":
		return '&', true
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	var r rune
	for _, c := range digits {
		d, ok := hexVal(c)
		if !ok || d >= base {
			return 0, false
		}
		r = r*base + d
	}
	if r > utf8.MaxRune {
		return 0, false
	}
	return r, true
}

func hexVal(c byte) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0'), true
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

// hexRun reads up to max hex digits of s; ok is false when s starts with none or more follow.
func hexRun(s []byte, digits int) (v rune, n int) {
	for n < len(s) && n < digits {
		d, ok := hexVal(s[n])
		if !ok {
			break
		}
		v = v<<4 | d
		n++
	}
	return v, n
}
