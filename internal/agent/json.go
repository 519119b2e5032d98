package agent

import (
	"encoding/json"
	"fmt"
)

func jsonUnmarshal(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("agent protocol: %w", err)
	}
	return nil
}
