package brain

// lerpRows sets out[i] = r0[i] + (r1[i]-r0[i])*w; r0 and r1 are at least
// as long as out (lerpRow checks).
//
//go:noescape
func lerpRows(out, r0, r1 []float32, w float32)
