package bsp

import "flag"

// AddFlags defines on fs the flags of the job's shape, with DefaultConfig's
// values as defaults: -nodes, -degree, -seed, -supersteps, -workers,
// -damping and -handler-delay, parsed into c's fields. The mode, and where
// the workers run, are the program's flags.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	def := DefaultConfig()
	fs.IntVar(&c.Nodes, "nodes", def.Nodes, "graph nodes (≥ 1)")
	fs.IntVar(&c.Degree, "degree", def.Degree, "successors per node (≥ 1)")
	fs.Uint64Var(&c.Seed, "seed", def.Seed, "the graph's seed")
	fs.IntVar(&c.Supersteps, "supersteps", def.Supersteps, "supersteps (≥ 1)")
	fs.IntVar(&c.Workers, "workers", def.Workers, "workers (1 … nodes)")
	fs.Float64Var(&c.Damping, "damping", def.Damping, "PageRank's damping factor (0 … 1)")
	fs.DurationVar(&c.HandlerDelay, "handler-delay", 0, "slept per message a worker handles (≥ 0)")
}
