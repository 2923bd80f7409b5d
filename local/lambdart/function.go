package lambdart

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Account is the twin's AWS account.
const Account = awsid.Account

// Function is one deployed Lambda function, as the template declares it.
type Function struct {
	Name string // physical name
	ARN  string // arn:aws:lambda:REGION:000000000000:function:NAME (empty: derived)

	Bootstrap string            // path to the executable
	Env       map[string]string // the template's environment, resolved, plus what the twin adds

	Timeout  time.Duration // 0: Lambda's default, 3 s
	MemoryMB int           // 0: Lambda's default, 128

	// ReservedConcurrency bounds the function's concurrent invocations; 0 or -1:
	// unreserved. (Lambda's ReservedConcurrentExecutions=0, which throttles every
	// invoke, cannot be expressed; the template does not use it.)
	ReservedConcurrency int

	Architecture string // "arm64" or "x86_64" (empty: x86_64); recorded, reported by GetFunction

	Runtime     string // empty: provided.al2023
	Handler     string
	Description string
	Role        string
	LogGroup    string // empty: /aws/lambda/NAME
}

// Lambda's configuration limits.
const (
	defaultTimeout  = 3 * time.Second
	maxTimeout      = 900 * time.Second
	defaultMemoryMB = 128
	minMemoryMB     = 128
	maxMemoryMB     = 10240
	defaultRuntime  = "provided.al2023"
)

var functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// refNameRE is the name part of Lambda's FunctionName pattern; a longer name than
// a function can have is simply not found, as Lambda answers.
var refNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// reservedEnv are the keys Lambda sets itself and refuses in a function's
// configuration (Lambda developer guide, "Defined runtime environment variables").
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// normalize fills Lambda's defaults into a copy of f and checks it as CreateFunction
// would, plus the twin's own check that the bootstrap can run on this machine.
func (f Function) normalize(region string) (Function, error) {
	if !functionNameRE.MatchString(f.Name) {
		return f, fmt.Errorf("function name %q: must be 1-64 letters, digits, hyphens or underscores", f.Name)
	}
	want := functionARN(region, f.Name)
	switch {
	case f.ARN == "":
		f.ARN = want
	case f.ARN != want:
		return f, fmt.Errorf("function %s: ARN %s is not %s", f.Name, f.ARN, want)
	}
	if f.Timeout == 0 {
		f.Timeout = defaultTimeout
	}
	if f.Timeout < time.Second || f.Timeout > maxTimeout {
		return f, fmt.Errorf("function %s: timeout %v is outside Lambda's 1-900 seconds", f.Name, f.Timeout)
	}
	if f.MemoryMB == 0 {
		f.MemoryMB = defaultMemoryMB
	}
	if f.MemoryMB < minMemoryMB || f.MemoryMB > maxMemoryMB {
		return f, fmt.Errorf("function %s: memory %d MB is outside Lambda's %d-%d MB", f.Name, f.MemoryMB, minMemoryMB, maxMemoryMB)
	}
	if f.ReservedConcurrency < 0 {
		f.ReservedConcurrency = 0
	}
	if f.Architecture == "" {
		f.Architecture = "x86_64"
	}
	if f.Runtime == "" {
		f.Runtime = defaultRuntime
	}
	if f.LogGroup == "" {
		f.LogGroup = "/aws/lambda/" + f.Name
	}
	var reserved []string
	for k := range f.Env {
		if reservedEnv[k] {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		sort.Strings(reserved)
		return f, fmt.Errorf("function %s: Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s",
			f.Name, strings.Join(reserved, ", "))
	}
	abs, err := filepath.Abs(f.Bootstrap)
	if err != nil {
		return f, fmt.Errorf("function %s: %w", f.Name, err)
	}
	f.Bootstrap = abs
	if err := checkExecutable(abs); err != nil {
		return f, fmt.Errorf("function %s: %w (run `make twin-lambdas` to build the bootstraps for this machine)", f.Name, err)
	}
	return f, nil
}

func functionARN(region, name string) string {
	return "arn:aws:lambda:" + region + ":" + Account + ":function:" + name
}

// elfMachines maps GOARCH to the ELF machine a native binary carries.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "loong64": elf.EM_LOONGARCH,
}

// checkExecutable reports why path cannot run here: missing, not executable, not an
// ELF executable, or built for another architecture (the deployed bootstraps are
// linux/arm64).
func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("bootstrap %s is not an executable file", path)
	}
	ef, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("bootstrap %s is not an ELF executable: %w", path, err)
	}
	defer ef.Close()
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		return fmt.Errorf("bootstrap %s is an ELF %v, not an executable", path, ef.Type)
	}
	if want, ok := elfMachines[runtime.GOARCH]; ok && ef.Machine != want {
		return fmt.Errorf("bootstrap %s is built for %v, but this machine is %s/%s", path, ef.Machine, runtime.GOOS, runtime.GOARCH)
	}
	return nil
}

// codeDigest is CodeSha256 and CodeSize for GetFunction: Lambda hashes the deployment
// package; the twin hashes the bootstrap, which is its whole package.
func codeDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), n, nil
}

// functionRef is a FunctionName parameter taken apart: Lambda accepts a name, a
// name with a qualifier, a partial ARN (ACCOUNT:function:NAME or ACCOUNT:NAME) or a
// full ARN.
type functionRef struct {
	region, account, name, qualifier string
}

var errBadRef = errors.New("malformed function name")

func parseRef(s string) (functionRef, error) {
	var r functionRef
	parts := strings.Split(s, ":")
	if strings.HasPrefix(s, "arn:") {
		// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" {
			return r, errBadRef
		}
		r.region, r.account, r.name = parts[3], parts[4], parts[6]
		if len(parts) == 8 {
			r.qualifier = parts[7]
		}
	} else {
		switch {
		case len(parts) == 1:
			r.name = parts[0]
		case len(parts) == 2 && isAccount(parts[0]):
			r.account, r.name = parts[0], parts[1]
		case len(parts) == 2:
			r.name, r.qualifier = parts[0], parts[1]
		case len(parts) >= 3 && len(parts) <= 4 && isAccount(parts[0]) && parts[1] == "function":
			r.account, r.name = parts[0], parts[2]
			if len(parts) == 4 {
				r.qualifier = parts[3]
			}
		default:
			return r, errBadRef
		}
	}
	if !refNameRE.MatchString(r.name) {
		return r, errBadRef
	}
	return r, nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
