package brain

import "testing"

// TestBuiltinIdentity builds the built-in graph and checks that the
// written-down identity freshness checks use is still the graph's: when the
// descriptor, its spec or the serialisation changes, builtinIdentity must
// be updated to the value this test prints, or every stored run of the
// built-in model would look fresh to a check that does not match the
// model that runs.
func TestBuiltinIdentity(t *testing.T) {
	data, err := descriptorGraph()
	if err != nil {
		t.Fatal(err)
	}
	got, err := specIdentity(DefaultModelSpec(), data)
	if err != nil {
		t.Fatal(err)
	}
	if got != builtinIdentity {
		t.Fatalf("the built-in model's identity is %s, builtinIdentity says %s: update the constant", got, builtinIdentity)
	}
	w, _, _, err := ComputeOptions{}.want()
	if err != nil {
		t.Fatal(err)
	}
	if w.Model != got {
		t.Fatalf("a freshness check asks for model %s, the built-in model is %s", w.Model, got)
	}
}
