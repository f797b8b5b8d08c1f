package brain

import "testing"

// TestBuiltinIdentity builds every built-in descriptor's graph and checks
// that the written-down identity freshness checks use is still the
// graph's: when a descriptor, its spec or the serialisation changes, its
// identity must be updated to the value this test prints, or every stored
// run of it would look fresh to a check that does not match the model that
// runs.
func TestBuiltinIdentity(t *testing.T) {
	for _, b := range builtins {
		data, err := b.graph()
		if err != nil {
			t.Fatal(err)
		}
		got, err := specIdentity(b.spec(), data)
		if err != nil {
			t.Fatal(err)
		}
		if got != b.identity {
			t.Errorf("%s's identity is %s, its written-down identity says %s: update it", b.name, got, b.identity)
		}
	}
	w, _, _, err := ComputeOptions{}.want()
	if err != nil {
		t.Fatal(err)
	}
	if w.Model != defaultDescriptor.identity {
		t.Fatalf("a freshness check asks for model %s, the default model is %s", w.Model, defaultDescriptor.identity)
	}
}
