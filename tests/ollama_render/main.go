// Renders an Ollama TEMPLATE the way Ollama's template.Execute does for /api/chat (the .Messages
// path of github.com/ollama/ollama template/template.go at the commit pinned in
// selfcog_swift/resources/ollama/SOURCE.md): consecutive messages of one role collated, every system
// message joined into .System, the same function names, missingkey=zero. Go's own text/template
// does the rendering; this file only feeds it Ollama's values. Tools are out of scope (none sent).
//
// stdin: {"template": "...", "messages": [{"role": "...", "content": "..."}], "think": true|false|null}
// stdout: the rendered prompt.
package main

import (
	"encoding/json"
	"os"
	"strings"
	"text/template"
	"time"
)

type message struct {
	Role       string
	Content    string
	Thinking   string
	Images     []string
	ToolCalls  []any
	ToolName   string
	ToolCallID string
}

type request struct {
	Template string `json:"template"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Think *bool `json:"think"`
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate":      func(args ...string) string { return time.Now().Format("2006-01-02") },
	"yesterdayDate":    func(args ...string) string { return time.Now().AddDate(0, 0, -1).Format("2006-01-02") },
	"toTypeScriptType": func(v any) string { return "any" },
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		panic(err)
	}
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(req.Template)
	if err != nil {
		panic(err)
	}
	var system []string
	var collated []*message
	for _, m := range req.Messages {
		if m.Role == "system" {
			system = append(system, m.Content)
		}
		if n := len(collated); n > 0 && collated[n-1].Role == m.Role && m.Role != "tool" {
			collated[n-1].Content += "\n\n" + m.Content
		} else {
			collated = append(collated, &message{Role: m.Role, Content: m.Content})
		}
	}
	values := map[string]any{
		"System":     strings.Join(system, "\n\n"),
		"Messages":   collated,
		"Tools":      nil,
		"Response":   "",
		"Think":      req.Think != nil && *req.Think,
		"ThinkLevel": "",
		"IsThinkSet": req.Think != nil,
	}
	if err := tmpl.Execute(os.Stdout, values); err != nil {
		panic(err)
	}
}
