package config

// Cache is a "cache" section (HAProxy's configuration.txt 6.2.1).
type Cache struct {
	Pos          Pos
	Name         string
	TotalMaxMB   int   // total-max-size; 0: not given (an error)
	MaxObject    int64 // max-object-size in bytes; 0: a 256th of the total
	MaxAge       int   // max-age in seconds
	ProcessVary  bool
	MaxSecondary int
}
