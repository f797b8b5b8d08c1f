package tfjs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fosql/fosql/brain/onnx"

	"github.com/fosql/fosql/brain"
)

// Calibrate runs m, a float model Convert made, over the calibration
// images items through ONNX Runtime, fed as spec says (its Path and Output
// are ignored), and returns the range of every tensor CalibrationTensors
// lists: the smallest and largest value over all the images, widened by
// RoundRange. An image that cannot be decoded is an error: the ranges must
// come from the whole set.
func Calibrate(ctx context.Context, m *onnx.ModelProto, spec brain.ModelSpec, items []brain.Item) (map[string]Range, error) {
	if len(items) == 0 {
		return nil, errors.New("tfjs: calibrate: no calibration images")
	}
	cm, names, err := CalibrationModel(m)
	if err != nil {
		return nil, err
	}
	data, err := Marshal(cm)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fosql-calibrate-")
	if err != nil {
		return nil, fmt.Errorf("tfjs: calibrate: %w", err)
	}
	defer os.RemoveAll(dir)
	spec.Path = filepath.Join(dir, "calibrate.onnx")
	spec.Output = RangesOutput
	if err := os.WriteFile(spec.Path, data, 0o600); err != nil {
		return nil, fmt.Errorf("tfjs: calibrate: %w", err)
	}
	model, err := brain.LoadModel(spec)
	if err != nil {
		return nil, fmt.Errorf("tfjs: calibrate: %w", err)
	}
	defer model.Close()
	got, err := brain.Embed(ctx, model, items, brain.EmbedOptions{})
	if err != nil {
		return nil, fmt.Errorf("tfjs: calibrate: %w", err)
	}
	if len(got.Skipped) > 0 {
		s := got.Skipped[0]
		return nil, fmt.Errorf("tfjs: calibrate: image %s: %w", s.ID, s.Err)
	}
	if got.Dim != 2*len(names) {
		return nil, fmt.Errorf("tfjs: calibrate: %d values per image, want %d", got.Dim, 2*len(names))
	}
	ranges := make(map[string]Range, len(names))
	for i := range got.IDs {
		v := got.Vector(i)
		for k, name := range names {
			r, seen := ranges[name]
			lo, hi := v[2*k], v[2*k+1]
			if !seen {
				r = Range{Min: lo, Max: hi}
			}
			r.Min, r.Max = min(r.Min, lo), max(r.Max, hi)
			ranges[name] = r
		}
	}
	for name, r := range ranges {
		ranges[name] = RoundRange(r)
	}
	return ranges, nil
}
