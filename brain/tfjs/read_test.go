package tfjs_test

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fosql/fosql/brain/tfjs"
)

// wrap writes what a browserify bundle as nsfwjs ships it exports.
func wrap(literal string) string {
	return `!function(t){"object"==typeof exports&&"undefined"!=typeof module?module.exports=t():window.m=t()}` +
		`(function(){return function t(e,a,l){return e}({1:[function(t,e,a){e.exports=` + literal + `},{}]},{},[1])(1)});`
}

// The topology as a minified JavaScript literal: unquoted keys, numbers
// with a bare leading point, !0 for true, a quoted key with a colon.
const topologyJS = `{format:"graph-model",generatedBy:"2.2.0",userDefinedMetadata:{signature:{inputs:{"x:0":{name:"x:0"}}}},` +
	`modelTopology:{node:[{name:"x",op:"Placeholder",attr:{shape:{shape:{dim:[{size:"-1"},{size:"2"}]}},dtype:{type:"DT_FLOAT"}}},` +
	`{name:"q8",op:"Const",attr:{value:{tensor:{dtype:"DT_FLOAT",tensorShape:{dim:[{size:"3"}]}}},dtype:{type:"DT_FLOAT"}}},` +
	`{name:"q16",op:"Const"},{name:"half",op:"Const"},{name:"plain",op:"Const"},` +
	`{name:"mm",op:"MatMul",input:["x","plain:0"],attr:{transpose_a:{b:!1},transpose_b:{b:!0}}}]},` +
	`weightsManifest:[{paths:["group1-shard1of2","group1-shard2of2"],weights:[` +
	`{name:"q8",shape:[3],dtype:"float32",quantization:{min:-.5,scale:.25,dtype:"uint8"}},` +
	`{name:"q16",shape:[2],dtype:"float32",quantization:{min:-1,scale:1e-3,dtype:"uint16"}},` +
	`{name:"half",shape:[3],dtype:"float32",quantization:{dtype:"float16"}},` +
	`{name:"plain",shape:[2,2],dtype:"float32"}]}]}`

func weightBytes() []byte {
	b := []byte{0, 2, 255}                               // q8: -0.5, 0, 63.25
	b = binary.LittleEndian.AppendUint16(b, 0)           // q16: -1
	b = binary.LittleEndian.AppendUint16(b, 3000)        // q16: 2
	for _, h := range []uint16{0x3c00, 0xc000, 0x0001} { // half: 1, -2, 2^-24
		b = binary.LittleEndian.AppendUint16(b, h)
	}
	for _, f := range []float32{1.5, -2, 0.25, 8} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func writeModel(t *testing.T, shards func(dir string, data []byte)) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.min.js"), []byte(wrap(topologyJS)), 0o644); err != nil {
		t.Fatal(err)
	}
	shards(dir, weightBytes())
	return dir
}

func TestReadDir(t *testing.T) {
	cases := []struct {
		name   string
		shards func(dir string, data []byte)
	}{
		{"base64 shards in .min.js wrappers", func(dir string, data []byte) {
			for i, part := range [][]byte{data[:5], data[5:]} {
				name := []string{"group1-shard1of2", "group1-shard2of2"}[i]
				js := wrap(`"` + base64.StdEncoding.EncodeToString(part) + `"`)
				os.WriteFile(filepath.Join(dir, name+".min.js"), []byte(js), 0o644)
			}
		}},
		{"raw binary shards", func(dir string, data []byte) {
			os.WriteFile(filepath.Join(dir, "group1-shard1of2"), data[:7], 0o644)
			os.WriteFile(filepath.Join(dir, "group1-shard2of2"), data[7:], 0o644)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tfjs.ReadDir(writeModel(t, tc.shards))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]float32{
				"q8":    {-0.5, 0, 63.25},
				"q16":   {-1, 2},
				"half":  {1, -2, float32(math.Ldexp(1, -24))},
				"plain": {1.5, -2, 0.25, 8},
			}
			for name, w := range want {
				got := m.Weights[name]
				if got == nil {
					t.Fatalf("no weight %q", name)
				}
				for i := range w {
					if math.Abs(float64(got.Float[i]-w[i])) > 1e-6 {
						t.Errorf("%s = %v, want %v", name, got.Float, w)
						break
					}
				}
			}
			if len(m.Nodes) != 6 || m.Nodes[5].Op != "MatMul" || !m.Nodes[5].Attr["transpose_b"].B || m.Nodes[5].Attr["transpose_a"].B {
				t.Errorf("nodes read wrongly: %+v", m.Nodes[len(m.Nodes)-1])
			}
			if got := m.Nodes[0].Attr["shape"].Shape; got == nil || len(got.Dim) != 2 || got.Dim[0].Size != -1 || got.Dim[1].Size != 2 {
				t.Errorf("placeholder shape %+v", got)
			}
			if !slices.Equal(m.Weights["plain"].Shape, []int64{2, 2}) {
				t.Errorf("plain has shape %v", m.Weights["plain"].Shape)
			}
		})
	}
}

func TestReadDirErrors(t *testing.T) {
	cases := []struct {
		name   string
		shards func(dir string, data []byte)
		want   string
		is     error
	}{
		{"short shards", func(dir string, data []byte) {
			os.WriteFile(filepath.Join(dir, "group1-shard1of2"), data[:7], 0o644)
			os.WriteFile(filepath.Join(dir, "group1-shard2of2"), data[7:20], 0o644)
		}, `"plain"`, tfjs.ErrFormat},
		{"extra bytes", func(dir string, data []byte) {
			os.WriteFile(filepath.Join(dir, "group1-shard1of2"), data, 0o644)
			os.WriteFile(filepath.Join(dir, "group1-shard2of2"), []byte{1}, 0o644)
		}, "holds", tfjs.ErrFormat},
		{"missing shard", func(dir string, data []byte) {
			os.WriteFile(filepath.Join(dir, "group1-shard1of2"), data, 0o644)
		}, "group1-shard2of2", os.ErrNotExist},
		{"shard wrapper exporting no string", func(dir string, data []byte) {
			os.WriteFile(filepath.Join(dir, "group1-shard1of2"), data[:7], 0o644)
			os.WriteFile(filepath.Join(dir, "group1-shard2of2.min.js"), []byte(wrap(`{a:1}`)), 0o644)
		}, "does not export a string", tfjs.ErrFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tfjs.ReadDir(writeModel(t, tc.shards))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want one naming %s and wrapping %v", err, tc.want, tc.is)
			}
		})
	}
}
