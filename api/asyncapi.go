package api

import _ "embed"

// AsyncAPI is the events contract, served to tests that check code against it.
//
//go:embed asyncapi.yaml
var AsyncAPI []byte
