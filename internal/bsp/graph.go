package bsp

// Graph is a directed graph on nodes 0 … n-1: Out[v] are v's successors.
// Every node has at least one, so PageRank needs no dangling-node rule.
type Graph struct{ Out [][]int }

// NewGraph returns the graph of n nodes, each with degree successors drawn
// from a generator seeded with seed: the same arguments give the same graph
// in every process.
func NewGraph(n, degree int, seed uint64) Graph {
	r := splitmix{seed}
	out := make([][]int, n)
	for v := range out {
		out[v] = make([]int, degree)
		for i := range out[v] {
			out[v][i] = int(r.next() % uint64(n))
		}
	}
	return Graph{Out: out}
}

// splitmix is the SplitMix64 generator: small, fast and the same
// everywhere.
type splitmix struct{ s uint64 }

func (r *splitmix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Reference is PageRank computed in one process, superstep by superstep as
// the workers compute it.
func Reference(g Graph, supersteps int, damping float64) []float64 {
	n := len(g.Out)
	rank := make([]float64, n)
	for v := range rank {
		rank[v] = 1 / float64(n)
	}
	next := make([]float64, n)
	for range supersteps {
		clear(next)
		for v, out := range g.Out {
			share := rank[v] / float64(len(out))
			for _, u := range out {
				next[u] += share
			}
		}
		for v := range rank {
			rank[v] = (1-damping)/float64(n) + damping*next[v]
		}
	}
	return rank
}
