package brain

// lerpRow interpolates between two rows: out[i] = r0[i] + (r1[i]-r0[i])*w.
// It panics when r0 or r1 is shorter than out.
func lerpRow(out, r0, r1 []float32, w float32) {
	if len(r0) < len(out) || len(r1) < len(out) {
		panic("brain: lerpRow: short row")
	}
	lerpRows(out, r0, r1, w)
}
