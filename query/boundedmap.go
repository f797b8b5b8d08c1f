package query

import "sync"

// boundedMap is a map safe for concurrent use that keeps at most size
// entries; past that, each new key evicts the oldest one.
type boundedMap[K comparable, V any] struct {
	mu   sync.Mutex
	size int
	m    map[K]V
	ring []K // insertion order, for eviction
	next int
}

func newBoundedMap[K comparable, V any](size int) *boundedMap[K, V] {
	return &boundedMap[K, V]{size: size, m: map[K]V{}}
}

// get returns the value stored for k.
func (b *boundedMap[K, V]) get(k K) (V, bool) {
	b.mu.Lock()
	v, ok := b.m[k]
	b.mu.Unlock()
	return v, ok
}

// put stores v for k, evicting the oldest key when the map is full.
func (b *boundedMap[K, V]) put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; !ok {
		if len(b.ring) < b.size {
			b.ring = append(b.ring, k)
		} else {
			delete(b.m, b.ring[b.next])
			b.ring[b.next] = k
			b.next = (b.next + 1) % b.size
		}
	}
	b.m[k] = v
}
