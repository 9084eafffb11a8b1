package stats

// JSONSchema returns the JSON schema of the "show info json" / "show stat
// json" output (";json-schema" on the stats page, "show schema json" on the
// CLI): draft-04, one of Info (array of info items), Stat (array of typed
// fields) or Error.
func JSONSchema() string {
	return `{"$schema":"http://json-schema.org/draft-04/schema#",` +
		`"oneOf":[` +
		`{"title":"Info","type":"array","items":{"title":"InfoItem","type":"object",` +
		`"properties":{"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},` +
		`"tags":{"$ref":"#/definitions/tags"},"value":{"$ref":"#/definitions/typedValue"}},` +
		`"required":["field","processNum","tags","value"]}},` +
		`{"title":"Stat","type":"array","items":{"title":"InfoItem","type":"object",` +
		`"properties":{"objType":{"enum":["Frontend","Backend","Listener","Server","Unknown"]},` +
		`"proxyId":{"type":"integer","minimum":0},"id":{"type":"integer","minimum":0},` +
		`"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},` +
		`"tags":{"$ref":"#/definitions/tags"},"typedValue":{"$ref":"#/definitions/typedValue"}},` +
		`"required":["objType","proxyId","id","field","processNum","tags","value"]}},` +
		`{"title":"Error","type":"object","properties":{"errorStr":{"type":"string"}},"required":["errorStr"]}],` +
		`"definitions":{` +
		`"field":{"type":"object","pos":{"type":"integer","minimum":0},"name":{"type":"string"},"required":["pos","name"]},` +
		`"processNum":{"type":"integer","minimum":1},` +
		`"tags":{"type":"object",` +
		`"origin":{"type":"string","enum":["Metric","Status","Key","Config","Product","Unknown"]},` +
		`"nature":{"type":"string","enum":["Gauge","Limit","Min","Max","Rate","Counter","Duration","Age","Time","Name","Output","Avg","Unknown"]},` +
		`"scope":{"type":"string","enum":["Cluster","Process","Service","System","Unknown"]},` +
		`"required":["origin","nature","scope"]},` +
		`"typedValue":{"type":"object","oneOf":[` +
		`{"$ref":"#/definitions/typedValue/definitions/s32Value"},{"$ref":"#/definitions/typedValue/definitions/s64Value"},` +
		`{"$ref":"#/definitions/typedValue/definitions/u32Value"},{"$ref":"#/definitions/typedValue/definitions/u64Value"},` +
		`{"$ref":"#/definitions/typedValue/definitions/strValue"}],` +
		`"definitions":{` +
		typedValueDef("s32", `"type":"integer","minimum":-2147483648,"maximum":2147483647`) + `,` +
		typedValueDef("s64", `"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991`) + `,` +
		typedValueDef("u32", `"type":"integer","minimum":0,"maximum":4294967295`) + `,` +
		typedValueDef("u64", `"type":"integer","minimum":0,"maximum":9007199254740991`) + `,` +
		typedValueDef("str", `"type":"string"`) + `,` +
		`"unknownValue":{"properties":{"type":{"type":"integer","minimum":0},"value":{"type":"string","enum":["unknown"]}},"required":["type","value"]}` +
		`}}}}` + "\n"
}

func typedValueDef(t, value string) string {
	return `"` + t + `Value":{"properties":{"type":{"type":"string","enum":["` + t + `"]},"value":{` + value + `}},"required":["type","value"]}`
}
