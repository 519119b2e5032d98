package inventory

import (
	"strings"
	"testing"
)

func TestSuggestID(t *testing.T) {
	taken := map[string]bool{"h100-80gb-hbm3-x8": true}
	for _, c := range []struct {
		model, region string
		count         int
		want          string
	}{
		{"NVIDIA A100-SXM4-80GB", "eu-1", 1, "a100-sxm4-80gb-x1"},
		{"NVIDIA H100 80GB HBM3", "eu-1", 8, "h100-80gb-hbm3-x8-eu-1"},
		{"nvidia h200", "us-2", 4, "h200-x4"},
		{"4090", "eu-1", 2, "gpu-4090-x2"},
		{"  ", "eu-1", 1, "gpu-x1"},
		{strings.Repeat("Tesla V100 ", 10), "eu-1", 16, ""},
	} {
		got := suggestID(c.model, c.region, c.count, taken)
		if !skuIDRE.MatchString(got) || (c.want != "" && got != c.want) {
			t.Errorf("suggestID(%q, %q, %d) = %q, want %q", c.model, c.region, c.count, got, c.want)
		}
	}
	// Both forms taken: a number follows.
	taken["h100-80gb-hbm3-x8-eu-1"] = true
	if got := suggestID("NVIDIA H100 80GB HBM3", "eu-1", 8, taken); got != "h100-80gb-hbm3-x8-2" {
		t.Errorf("got %q", got)
	}
}

func TestSuggestName(t *testing.T) {
	if got := suggestName("NVIDIA H100 80GB HBM3", 8); got != "H100 80GB HBM3 ×8" {
		t.Errorf("got %q", got)
	}
	long := suggestName(strings.Repeat("é", 100), 16)
	if n := len([]rune(long)); n != maxNameLen || !strings.HasSuffix(long, " ×16") {
		t.Errorf("long name %q (%d runes)", long, n)
	}
	s := "  x "
	if err := checkName("name", &s, maxNameLen); err != nil || s != "x" {
		t.Errorf("checkName trims: %q %v", s, err)
	}
}
