package inject

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
	"slices"
)

// Redaction is what replaces a secret in the output. Overlapping or touching occurrences of
// patterns are replaced as one, so a long form is never left partly visible because a shorter one
// (a line of it, a prefix of its base64) matched first.
const Redaction = "***"

// The matcher is a Wu-Manber style filter: a window of `win` bytes (the shortest pattern's length,
// at most maxWindow) slides over the data; the hash of the window's last block of 4 bytes indexes
// a table saying how far the window can move before its last block could line up with a block of
// some pattern's first win bytes. Ordinary output has blocks that are in no pattern at all, and
// there the window moves on by a whole window after one load, one multiply and one table lookup.
// Where the table says 0, a second hash of the window's first and last blocks picks the few
// patterns that could start here, and they are compared.
//
// The table is sized to have at least 64 entries per block of the patterns, so that nearly all of
// ordinary text moves a whole window: that branch is then nearly always predicted, and lookups
// overlap instead of queueing. Measured on CI-like output with 50 secrets (400 patterns of 32
// bytes and more, 64 KiB writes): a 64 KiB table ran at 11 GB/s, 256 KiB at 19 GB/s, 1 MiB no
// faster; hence at most maxTableBits. One secret needs only a few KiB, which keeps compiling
// the patterns out of patinject's start-up time.
const (
	minTableBits = 10
	maxTableBits = 18
	hashMul      = 0x9e3779b1 // golden-ratio multiplier: spreads the block's bits into the top bits
	candMul      = 0x85ebca77
	// maxWindow bounds the window. A longer one skips further but puts more blocks of each
	// pattern in the shift table (win-3 of them), so fewer blocks of ordinary text miss them all;
	// with hundreds of patterns 32 keeps the table sparse.
	maxWindow = 32
	// beginMul is the base of the polynomial hash of beginnings.
	beginMul = 0x100000001b3
)

// Matcher is a compiled set of patterns. It is read-only once built, so one Matcher serves the
// redactors of stdout and stderr at the same time.
//
// A Matcher from NewMatcher matches its byte patterns literally. One from NewSecretMatcher also
// reads the output the ways a person could (see there): with single line breaks taken out, and,
// around each escape character, percent-, backslash- and XML-decoded.
type Matcher struct {
	*core
	secret  bool         // the output is read through views (NewSecretMatcher)
	views   []decodeView // the escaped readings, each with its patterns
	maxHeld int
	tailLen int // the stretch at the end of a write that is joined to look for beginnings
}

// core is a Wu-Manber matcher of literal patterns (see the comment above the constants).
type core struct {
	pats   [][]byte // distinct, non-empty
	sorted [][]byte // pats in byte order, for "is this the beginning of a pattern?" at the end of data
	minLen int
	maxLen int
	win    int // window length
	blk    int // block length: 4, or minLen when a pattern is shorter than that

	shift     []uint8 // by blockHash of a block: how far the window may move
	shiftBits uint
	far       uint8 // the shift of a block that is in no pattern: a whole window
	candBits  uint
	candStart []uint32 // patterns that may start at a window of key k: cand[candStart[k]:candStart[k+1]]
	cand      []int32  // each key's patterns in byte order
	// parent[i] is the position in cand of the longest pattern of the same key that is a proper
	// prefix of the pattern at cand[i], -1 when none: with the byte order it finds the longest
	// pattern at a position in O(log n) compares, however many patterns share a beginning (JWTs
	// all start with the same header).
	parent []int32

	// begins has a bit set for the hash of every beginning shorter than the window of every
	// pattern: the last few bytes of a write are tested against it before the exact search.
	begins    []uint64
	beginBits uint
	// first and pair are exact sets of the first byte and the first two bytes of patterns longer
	// than that: the one- and two-byte tails, the commonest beginnings, need no search.
	first [256 / 64]uint64
	pair  [1 << 16 / 64]uint64
}

// NewMatcher compiles patterns, matched byte for byte. Empty patterns are ignored; duplicates
// count once.
func NewMatcher(patterns [][]byte) *Matcher {
	own := make([][]byte, len(patterns))
	for i, p := range patterns {
		own[i] = bytes.Clone(p)
	}
	c := newCore(own, true)
	return &Matcher{core: c, maxHeld: max(c.maxLen-1, 0)}
}

// newCore compiles patterns; dedup says they may hold empty ones and repeats, to be left out.
func newCore(patterns [][]byte, dedup bool) *core {
	m := &core{}
	if dedup {
		seen := map[string]bool{}
		for _, p := range patterns {
			if len(p) == 0 || seen[string(p)] {
				continue
			}
			seen[string(p)] = true
			m.pats = append(m.pats, p)
		}
	} else {
		m.pats = patterns
	}
	if len(m.pats) == 0 {
		return m
	}
	m.minLen, m.maxLen = len(m.pats[0]), 0
	for _, p := range m.pats {
		m.minLen = min(m.minLen, len(p))
		m.maxLen = max(m.maxLen, len(p))
	}
	m.win = min(m.minLen, maxWindow)
	m.blk = min(4, m.win)

	m.far = uint8(m.win - m.blk + 1)
	m.shiftBits = tableBits(len(m.pats) * int(m.far))
	m.shift = make([]uint8, 1<<m.shiftBits)
	for i := range m.shift {
		m.shift[i] = m.far
	}
	for _, p := range m.pats {
		for j := 0; j+m.blk <= m.win; j++ {
			h := m.blockHash(m.load(p[j:]))
			m.shift[h] = min(m.shift[h], uint8(m.win-m.blk-j))
		}
	}

	m.candBits = uint(bits.Len(uint(2*len(m.pats) - 1)))
	m.candBits = min(max(m.candBits, 8), 16)
	m.candStart = make([]uint32, 1<<m.candBits+1)
	keys := make([]uint32, len(m.pats))
	for i, p := range m.pats {
		keys[i] = m.candKey(m.load(p), m.load(p[m.win-m.blk:]))
		m.candStart[keys[i]+1]++
	}
	for k := 1; k < len(m.candStart); k++ {
		m.candStart[k] += m.candStart[k-1]
	}
	m.cand = make([]int32, len(m.pats))
	fill := slices.Clone(m.candStart)
	for i, k := range keys {
		m.cand[fill[k]] = int32(i)
		fill[k]++
	}
	m.parent = make([]int32, len(m.pats))
	var stack []int32
	for k := 0; k+1 < len(m.candStart); k++ {
		b := m.cand[m.candStart[k]:m.candStart[k+1]]
		if len(b) == 0 {
			continue
		}
		slices.SortFunc(b, func(x, y int32) int { return bytes.Compare(m.pats[x], m.pats[y]) })
		// In byte order a pattern's prefixes come before it; a stack of the chain of prefixes
		// of the last pattern gives each one its longest prefix.
		stack = stack[:0]
		for j, ci := range b {
			for len(stack) > 0 && !bytes.HasPrefix(m.pats[ci], m.pats[b[stack[len(stack)-1]]]) {
				stack = stack[:len(stack)-1]
			}
			at := int(m.candStart[k]) + j
			m.parent[at] = -1
			if len(stack) > 0 {
				m.parent[at] = int32(int(m.candStart[k]) + int(stack[len(stack)-1]))
			}
			stack = append(stack, int32(j))
		}
	}

	m.sorted = slices.Clone(m.pats)
	slices.SortFunc(m.sorted, bytes.Compare)
	m.beginBits = tableBits(len(m.pats) * (m.win - 1))
	m.begins = make([]uint64, max(1<<m.beginBits/64, 1))
	for _, p := range m.pats {
		if len(p) > 1 {
			m.first[p[0]/64] |= 1 << (p[0] % 64)
		}
		if len(p) > 2 {
			k := uint16(p[0])<<8 | uint16(p[1])
			m.pair[k/64] |= 1 << (k % 64)
		}
		var h uint64
		for l := 1; l < m.win; l++ {
			h = h*beginMul + uint64(p[l-1]) + 1
			k := m.beginKey(h, l)
			m.begins[k/64] |= 1 << (k % 64)
		}
	}
	return m
}

// MaxHeld is the most a Redactor holds back: for NewMatcher, one byte less than the longest
// pattern; for NewSecretMatcher, the longest stretch of output that can still decode to the
// beginning of a form.
func (m *Matcher) MaxHeld() int { return m.maxHeld }

// load reads a block (m.blk bytes) from the start of b.
func (m *core) load(b []byte) uint32 {
	if m.blk == 4 {
		return binary.LittleEndian.Uint32(b)
	}
	var v uint32
	for i := 0; i < m.blk; i++ {
		v |= uint32(b[i]) << (8 * i)
	}
	return v
}

// tableBits sizes a hashed table for n entries: 64 slots or more for each, within limits.
func tableBits(n int) uint {
	return uint(min(max(bits.Len(uint(n))+6, minTableBits), maxTableBits))
}

func (m *core) blockHash(v uint32) uint32 { return (v * hashMul) >> (32 - m.shiftBits) }

func (m *core) candKey(first, last uint32) uint32 {
	return (first*candMul ^ last*hashMul) >> (32 - m.candBits)
}

// beginKey places the polynomial hash h of a beginning of length l in m.begins.
func (m *core) beginKey(h uint64, l int) uint64 {
	return ((h ^ uint64(l)<<56) * 0x9e3779b97f4a7c15) >> (64 - m.beginBits)
}

// beginsPattern reports whether b is a proper prefix of some pattern.
func (m *core) beginsPattern(b []byte) bool {
	switch {
	case len(b) == 0 || len(b) >= m.maxLen:
		return false
	case len(b) == 1:
		return m.first[b[0]/64]&(1<<(b[0]%64)) != 0
	case len(b) == 2:
		k := uint16(b[0])<<8 | uint16(b[1])
		return m.pair[k/64]&(1<<(k%64)) != 0
	}
	// Patterns that begin with b sort together, right where b itself would go (after b, if b is
	// a pattern too).
	i, found := slices.BinarySearchFunc(m.sorted, b, bytes.Compare)
	if found {
		i++
	}
	return i < len(m.sorted) && bytes.HasPrefix(m.sorted[i], b)
}

// Redactor replaces every occurrence of its patterns in what is written with "***" and writes the
// result on to w. After each Write everything has been written on except a tail that is the
// beginning of some pattern (at most Matcher.MaxHeld bytes): a prompt without a newline shows at
// once, and a secret split over two writes, however far apart in time, is still caught. Flush
// writes the tail at the end of the stream.
//
// A Redactor is not safe for concurrent use; give each stream its own (they may share a Matcher).
type Redactor struct {
	m *Matcher
	w io.Writer

	// The data being looked at is hold followed by cur (the caller's p during Write); positions
	// are counted from the start of the stream so that a match can span both.
	hold    []byte
	spare   []byte // the next hold is built here, then the two swap
	cur     []byte
	base    int64 // stream position of hold[0]
	emitted int64 // everything before this position has been written or redacted
	covEnd  int64 // end of the last redacted interval; -1 before the first

	seam  []byte // hold and the start of cur, contiguous, to scan across the boundary
	found []span // matches of one scan
	rd    reader // the views of a secret matcher
	out   []byte // small pieces of output, gathered into one write
	err   error
}

// outBuf is the size of the buffer for small pieces; pieces of at least directWrite bytes are
// written as they are, without a copy.
const (
	outBuf      = 32 << 10
	directWrite = 4 << 10
)

// NewRedactor returns a Redactor writing to w. Patterns are compiled for this one redactor; to
// redact several streams with the same patterns, compile once with NewMatcher.
func NewRedactor(w io.Writer, patterns [][]byte) *Redactor {
	return NewMatcher(patterns).NewRedactor(w)
}

// NewRedactor returns a Redactor of m's patterns writing to w.
func (m *Matcher) NewRedactor(w io.Writer) *Redactor {
	return &Redactor{m: m, w: w, covEnd: -1}
}

// Write redacts p and writes on everything that can no longer be the beginning of a pattern. It
// returns len(p), or 0 and the error of the underlying writer, which it then keeps returning.
func (r *Redactor) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.m.pats) == 0 {
		r.put(p)
		r.flushOut()
		return r.result(len(p))
	}
	if r.m.secret {
		r.cur = p
		to := r.scanSecret(false)
		r.emitTo(to)
		r.keep(to)
		r.cur = nil
		r.flushOut()
		return r.result(len(p))
	}
	r.cur = p
	defer func() { r.cur = nil }()
	h := len(r.hold)
	end := r.base + int64(h+len(p))
	holdAt := int64(-1)
	next := 0 // next position of p to examine
	switch {
	case h == 0:
		_, holdAt = r.scan(p, 0, len(p), r.base, true, false)
	case len(p) <= r.m.maxLen:
		// Small write after a held tail (typing, a line at a time): look at it all in one piece.
		r.seam = append(append(r.seam[:0], r.hold...), p...)
		_, holdAt = r.scan(r.seam, 0, len(r.seam), r.base, true, false)
	default:
		// Only the positions inside the held tail need the seam: a pattern starting there ends
		// within maxLen bytes of p. The rest of p is scanned where it lies.
		r.seam = append(append(r.seam[:0], r.hold...), p[:r.m.maxLen]...)
		n, _ := r.scan(r.seam, 0, h, r.base, false, false)
		next = n - h
		_, holdAt = r.scan(p, next, len(p), r.base+int64(h), true, false)
	}
	if holdAt < 0 {
		holdAt = end
	}
	r.emitTo(holdAt)
	r.keep(holdAt)
	r.flushOut()
	return r.result(len(p))
}

// Flush writes the held tail, with any whole pattern in it redacted, and starts a new stream.
func (r *Redactor) Flush() error {
	if r.err != nil {
		return r.err
	}
	end := r.base + int64(len(r.hold))
	switch {
	case len(r.hold) == 0:
	case r.m.secret:
		r.scanSecret(true)
	default:
		r.scan(r.hold, 0, len(r.hold), r.base, true, true)
	}
	r.emitTo(end)
	r.keep(end)
	r.covEnd = -1
	r.rd.ctxLen, r.rd.ctxOdd = 0, false
	r.flushOut()
	return r.err
}

func (r *Redactor) result(n int) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	return n, nil
}

// scan runs the literal matcher over data, whose first byte is at stream position off, reports
// its matches to r.match and returns the position to hold from in stream positions (-1: none).
func (r *Redactor) scan(data []byte, from, to int, off int64, atEnd, final bool) (next int, holdAt int64) {
	r.found = r.found[:0]
	next, h := r.m.core.scan(data, from, to, atEnd, final, &r.found)
	for _, f := range r.found {
		r.match(off+int64(f.start), off+int64(f.end))
	}
	if h < 0 {
		return next, -1
	}
	return next, off + int64(h)
}

// span is an occurrence of a pattern: positions [start, end) of the data scanned.
type span struct{ start, end int }

// scan looks for patterns starting at positions from..to-1 of data and appends each position's
// longest match to found, in order of start. atEnd says data ends where the stream read so far
// ends: a pattern running past it is then a reason to hold back from its start, which scan
// returns as holdAt (otherwise -1), stopping there. final says no more data will come, so
// nothing is held. next is the first position not examined.
func (m *core) scan(data []byte, from, to int, atEnd, final bool, found *[]span) (next, holdAt int) {
	n := len(data)
	win, blk := m.win, m.blk
	partial := atEnd && !final
	s := from
	last := min(to, n-win+1) // windows from here on do not fit or are not asked for
	far := m.far
	shift, hshift := m.shift, 32-m.shiftBits
	for s < last {
		if blk == 4 {
			// While the window's last block is in no pattern, move a whole window on. The step
			// does not wait for the table lookup (the branch is predicted), so the loads of
			// the next windows overlap instead of queueing behind each other.
			for s < last && shift[(binary.LittleEndian.Uint32(data[s+win-4:])*hashMul)>>hshift] == far {
				s += int(far)
			}
			if s >= last {
				break
			}
		}
		var v uint32
		if blk == 4 {
			v = binary.LittleEndian.Uint32(data[s+win-4:])
		} else {
			v = m.load(data[s+win-blk:])
		}
		if sh := shift[m.blockHash(v)]; sh != 0 {
			s += int(sh)
			continue
		}
		// The window's last block belongs to some pattern's first win bytes at this alignment.
		best, waiting, _ := m.longest(m.candKey(m.load(data[s:]), v), data[s:], partial)
		if waiting {
			// A longer pattern may start here; decide when more data has come.
			return s, s
		}
		if best > 0 {
			*found = append(*found, span{s, s + best})
		}
		s++
	}
	// Fewer than win bytes are left from here on: no whole pattern fits, only beginnings. The
	// hashes of the tails data[i:] are built from the end, one multiply each; only a tail whose
	// hash is that of some beginning is looked up for real.
	if partial && s < to {
		// n-s < win <= maxWindow, so the tails fit.
		var hs [maxWindow]uint64
		var h, pow uint64 = 0, 1
		for i := n - 1; i >= s; i-- {
			h += (uint64(data[i]) + 1) * pow
			pow *= beginMul
			hs[i-s] = h
		}
		for i := s; i < to; i++ {
			k := m.beginKey(hs[i-s], n-i)
			if m.begins[k/64]&(1<<(k%64)) != 0 && m.beginsPattern(data[i:]) {
				return i, i
			}
		}
		s = to
	}
	return s, -1
}

// longest returns the length of the longest pattern of candidate key k that d begins with (0 if
// none), and, when partial, whether d is the proper beginning of a pattern of that key (the data
// ends before the pattern would). brk says the longest agreement of d with a pattern of the key
// ends at a line-break byte of d: with the line break taken out, a longer pattern may match.
//
// A key's patterns are in byte order. The last one not after d is the longest match if it is a
// prefix of d; otherwise the longest match is a prefix of it no longer than what it has in common
// with d, found by following parents.
func (m *core) longest(k uint32, d []byte, partial bool) (best int, waiting, brk bool) {
	lo, hi := int(m.candStart[k]), int(m.candStart[k+1])
	if lo == hi {
		return 0, false, false
	}
	if hi-lo == 1 {
		p := m.pats[m.cand[lo]]
		switch {
		case len(p) <= len(d):
			if bytes.Equal(d[:len(p)], p) {
				return len(p), false, false
			}
		case partial && bytes.Equal(d, p[:len(d)]):
			return 0, true, false
		}
		c := commonPrefix(p, d)
		return 0, false, c < len(d) && isBreak(d[c])
	}
	// First position whose pattern is after d.
	i, j := lo, hi
	for i < j {
		h := int(uint(i+j) >> 1)
		if bytes.Compare(m.pats[m.cand[h]], d) <= 0 {
			i = h + 1
		} else {
			j = h
		}
	}
	if partial && i < hi && bytes.HasPrefix(m.pats[m.cand[i]], d) {
		return 0, true, false
	}
	// The patterns that agree longest with d are its neighbours in byte order.
	if i < hi {
		c := commonPrefix(m.pats[m.cand[i]], d)
		brk = c < len(d) && isBreak(d[c])
	}
	at := i - 1
	if at < lo {
		return 0, false, brk
	}
	p := m.pats[m.cand[at]]
	if bytes.HasPrefix(d, p) {
		return len(p), false, brk
	}
	common := commonPrefix(p, d)
	brk = brk || isBreak(d[common])
	for at = int(m.parent[at]); at >= 0; at = int(m.parent[at]) {
		if p := m.pats[m.cand[at]]; len(p) <= common {
			return len(p), false, brk
		}
	}
	return 0, false, brk
}

// commonPrefix is the length of the longest common beginning of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && binary.LittleEndian.Uint64(a[i:]) == binary.LittleEndian.Uint64(b[i:]) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// match records an occurrence of a pattern at stream positions [start, end). The caller reports
// occurrences in order of start.
func (r *Redactor) match(start, end int64) {
	if start <= r.covEnd {
		// Overlapping or touching the last one: the same "***" covers both.
		if end > r.covEnd {
			r.covEnd = end
			r.emitted = end
		}
		return
	}
	r.emitTo(start)
	r.putRedaction()
	r.covEnd, r.emitted = end, end
}

// emitTo writes the data from r.emitted up to stream position to.
func (r *Redactor) emitTo(to int64) {
	if to <= r.emitted {
		return
	}
	a, b := int(r.emitted-r.base), int(to-r.base)
	h := len(r.hold)
	if a < h {
		r.put(r.hold[a:min(b, h)])
	}
	if b > h {
		r.put(r.cur[max(a, h)-h : b-h])
	}
	r.emitted = to
}

// keep makes the data from stream position from on the new held tail.
func (r *Redactor) keep(from int64) {
	a := int(from - r.base)
	h := len(r.hold)
	next := r.spare[:0]
	if a < h {
		next = append(next, r.hold[a:]...)
	}
	next = append(next, r.cur[max(a-h, 0):]...)
	r.spare, r.hold = r.hold, next
	r.base = from
}

func (r *Redactor) put(b []byte) {
	if r.err != nil || len(b) == 0 {
		return
	}
	if len(b) >= directWrite {
		r.flushOut()
		r.write(b)
		return
	}
	r.room(len(b))
	r.out = append(r.out, b...)
}

// putRedaction is put(Redaction) without converting the string, which would allocate each time.
func (r *Redactor) putRedaction() {
	r.room(len(Redaction))
	r.out = append(r.out, Redaction...)
}

// room makes space for n more bytes (at most outBuf) in the output buffer.
func (r *Redactor) room(n int) {
	if r.out == nil {
		r.out = make([]byte, 0, outBuf)
	}
	if len(r.out)+n > cap(r.out) {
		r.flushOut()
	}
}

func (r *Redactor) flushOut() {
	if len(r.out) > 0 {
		r.write(r.out)
		r.out = r.out[:0]
	}
}

func (r *Redactor) write(b []byte) {
	if r.err != nil {
		return
	}
	n, err := r.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	r.err = err
}
