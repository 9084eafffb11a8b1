package app

// buildRuntimeAPI opens the "stats socket" runtime API. Owned by the
// runtime-API work.
func (b *builder) buildRuntimeAPI() error {
	return nil
}
