package vfs

import "testing"

func TestKernelAtLeast(t *testing.T) {
	for release, want := range map[string]bool{
		"5.8.0":               true,
		"5.7.19":              false,
		"6.1.0-18-amd64":      true,
		"5.10-rc1":            true,
		"4.19.0":              false,
		"5.15.0-1051-azure":   true,
		"10.0":                true,
		"":                    false,
		"garbage":             false,
		"4.4.0-microsoft-wsl": false,
	} {
		if got := kernelAtLeast(release, 5, 8); got != want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v; want %v", release, got, want)
		}
	}
}
