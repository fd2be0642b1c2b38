package processgroup

import "sync"

// holders are, for each recipient, the wire ends holding a grant on a link
// to it.
type holders[T any] struct {
	mu sync.Mutex
	of map[uint64]map[*wireEnd[T]]struct{}
}

// add records that ep holds a grant on a link to the member id.
func (h *holders[T]) add(id uint64, ep *wireEnd[T]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.of == nil {
		h.of = make(map[uint64]map[*wireEnd[T]]struct{})
	}
	set := h.of[id]
	if set == nil {
		set = make(map[*wireEnd[T]]struct{})
		h.of[id] = set
	}
	set[ep] = struct{}{}
}

// take removes and returns the holders of links to the member id.
func (h *holders[T]) take(id uint64) map[*wireEnd[T]]struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.of[id]
	delete(h.of, id)
	return set
}

// remove forgets that ep holds grants on links to the members ids.
func (h *holders[T]) remove(ep *wireEnd[T], ids []uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		if set := h.of[id]; set != nil {
			delete(set, ep)
			if len(set) == 0 {
				delete(h.of, id)
			}
		}
	}
}
