"""What calls do, one module per job: placing, sending, sweeping, control, events,
deliveries, profiles, rate limit, retention and the test call. Views, hooks, the API and
tasks call these; none of them is called by another layer's internals."""
