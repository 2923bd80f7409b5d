package cfn

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Load reads a template file, or the one stack's template in a cdk.out folder (found
// through its manifest.json, nested stage assemblies included). A folder with no
// stack, or with several, is an error naming what it holds.
func Load(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	if !st.IsDir() {
		return os.ReadFile(path)
	}
	stacks, err := assemblyStacks(path, "")
	if err != nil {
		return nil, err
	}
	switch len(stacks) {
	case 0:
		return nil, fmt.Errorf("cfn: cloud assembly %s holds no CloudFormation stack", path)
	case 1:
		return os.ReadFile(stacks[0].template)
	}
	names := make([]string, len(stacks))
	for i, s := range stacks {
		names[i] = s.name
	}
	return nil, fmt.Errorf("cfn: cloud assembly %s holds %d stacks (%s): name one template file instead", path, len(stacks), strings.Join(names, ", "))
}

type assemblyStack struct{ name, template string }

// manifest is the part of a cloud assembly's manifest.json that locates templates.
type manifest struct {
	Artifacts map[string]struct {
		Type        string `json:"type"`
		DisplayName string `json:"displayName"`
		Properties  struct {
			TemplateFile  string `json:"templateFile"`
			DirectoryName string `json:"directoryName"`
		} `json:"properties"`
	} `json:"artifacts"`
}

func assemblyStacks(dir, prefix string) ([]assemblyStack, error) {
	file := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cfn: %s is a folder without manifest.json: not a cdk.out cloud assembly", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cfn: %s: %w", file, err)
	}
	var out []assemblyStack
	for id, a := range m.Artifacts {
		switch a.Type {
		case "aws:cloudformation:stack":
			if a.Properties.TemplateFile == "" {
				return nil, fmt.Errorf("cfn: %s: stack %s names no templateFile", file, id)
			}
			name := a.DisplayName
			if name == "" {
				name = prefix + id
			}
			out = append(out, assemblyStack{name: name, template: filepath.Join(dir, a.Properties.TemplateFile)})
		case "cdk:cloud-assembly": // a Stage: its stacks live in a nested assembly
			nested, err := assemblyStacks(filepath.Join(dir, a.Properties.DirectoryName), prefix+id+"/")
			if err != nil {
				return nil, err
			}
			out = append(out, nested...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
