package app

// buildHealth sets up active and passive health checks for every server
// with "check" (internal/health). Owned by the health-check work.
func (b *builder) buildHealth() error {
	return nil
}
