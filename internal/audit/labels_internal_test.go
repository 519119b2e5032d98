package audit

import "testing"

// Every action the code can write has a readable name and a known
// category, so the admin view never shows a bare code.
func TestEveryActionHasALabelAndCategory(t *testing.T) {
	for action := range allowedKeys {
		if _, ok := labels[action]; !ok {
			t.Errorf("%s has no label", action)
		}
		if !Known(Category(action)) {
			t.Errorf("%s: category %q is not named", action, Category(action))
		}
	}
	for action := range labels {
		if _, ok := allowedKeys[action]; !ok {
			t.Errorf("label for %s, which no code writes", action)
		}
	}
	if got := Label("x.some_new_thing"); got != "X: some new thing" {
		t.Errorf("fallback label %q", got)
	}
}
