package repro

// ReportJSON is the part of a demo program's -json object that a report
// and its verdict give; each program embeds it in its object with what it
// adds. OK is true exactly when the program's exit status is 0.
type ReportJSON struct {
	Mode              string       `json:"mode"`
	Members           int          `json:"members"`
	Workers           int          `json:"workers"`
	WorkersAt         string       `json:"workers_at"` // "children", "inproc" or "processes"
	Iterations        int          `json:"iterations"`
	Burst             int          `json:"burst"`
	HandlerDelayUS    int64        `json:"handler_delay_us"`
	Hops              int          `json:"hops"`
	Messages          int          `json:"messages"`
	Sent              int          `json:"sent"`
	Handled           int          `json:"handled"`
	Released          int          `json:"released_iterations"`
	Missing           int          `json:"missing"`
	MissingIterations int          `json:"missing_iterations"`
	FirstMissing      []MarkerJSON `json:"first_missing"`
	FirstHopMissing   int          `json:"first_hop_missing"`
	Duplicates        int          `json:"duplicates"`
	OutOfOrder        int          `json:"out_of_order"`
	Lost              int          `json:"lost"`
	BarrierP50US      int64        `json:"barrier_p50_us"`
	BarrierP99US      int64        `json:"barrier_p99_us"`
	BarrierMaxUS      int64        `json:"barrier_max_us"`
	ElapsedMS         int64        `json:"elapsed_ms"`
	Fences            bool         `json:"fences"`
	Verdict           string       `json:"verdict"`
	OK                bool         `json:"ok"`
	Error             string       `json:"error,omitempty"`
}

// MarkerJSON is a Marker's identity, as ReportJSON lists it.
type MarkerJSON struct {
	Worker    int `json:"worker"`
	Iteration int `json:"iteration"`
	Seq       int `json:"seq"`
}

// NewReportJSON is the object of a run that returned rep and err and whose
// verdict is v; workersAt says where its workers ran.
func NewReportJSON(rep Report, v Verdict, workersAt string, err error) ReportJSON {
	out := ReportJSON{
		Mode: rep.Mode.String(), Members: rep.Members, Workers: rep.Workers, WorkersAt: workersAt,
		Iterations: rep.Iterations, Burst: rep.Burst, HandlerDelayUS: rep.HandlerDelay.Microseconds(),
		Hops: rep.Hops, Messages: rep.Messages, Sent: rep.Sent, Handled: rep.Handled, Released: len(rep.PerIteration),
		Missing: rep.Missing, MissingIterations: rep.MissingIterations, FirstMissing: []MarkerJSON{},
		FirstHopMissing: rep.FirstHopMissing, Duplicates: rep.Duplicates, OutOfOrder: rep.OutOfOrder, Lost: rep.Lost,
		BarrierP50US: rep.BarrierP50.Microseconds(), BarrierP99US: rep.BarrierP99.Microseconds(),
		BarrierMaxUS: rep.BarrierMax.Microseconds(), ElapsedMS: rep.Elapsed.Milliseconds(),
		Fences: rep.Mode.Drains(), Verdict: string(v), OK: v.OK(),
	}
	for _, mk := range rep.FirstMissing {
		out.FirstMissing = append(out.FirstMissing, MarkerJSON{Worker: mk.Worker, Iteration: mk.Iteration, Seq: mk.Seq})
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}
