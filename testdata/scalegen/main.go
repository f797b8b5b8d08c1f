// Command scalegen writes the inputs of the scale benchmark
// (scripts/bench-scale.sh): samples.jsonl, one record per sample with a
// filepath, a tag and a number, and vectors.npy, N x D float32 vectors in
// clusters (Gaussian blobs around random centres), seeded.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	n := flag.Int("n", 1000000, "samples")
	d := flag.Int("d", 128, "vector dimensions")
	out := flag.String("out", ".", "output folder")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := writeSamples(filepath.Join(*out, "samples.jsonl"), *n); err != nil {
		log.Fatal(err)
	}
	if err := writeVectors(filepath.Join(*out, "vectors.npy"), *n, *d, *seed); err != nil {
		log.Fatal(err)
	}
}

func writeSamples(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		fmt.Fprintf(w, `{"filepath": "/media/scale/%07d.jpg", "tags": ["t%d"], "score": %d}`+"\n", i, i%10, i%1000)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeVectors(path string, n, d int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, d)
	dict += strings.Repeat(" ", (64-(10+len(dict)+1)%64)%64) + "\n"
	w.WriteString("\x93NUMPY\x01\x00")
	binary.Write(w, binary.LittleEndian, uint16(len(dict)))
	w.WriteString(dict)
	rng := rand.New(rand.NewPCG(seed, 7))
	const clusters = 1000
	centres := make([]float32, clusters*d)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64() * 4)
	}
	row := make([]byte, 4*d)
	for range n {
		c := rng.IntN(clusters)
		for j := range d {
			x := centres[c*d+j] + float32(rng.NormFloat64())
			binary.LittleEndian.PutUint32(row[4*j:], math.Float32bits(x))
		}
		w.Write(row)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
