package hpo

import (
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hpo-dev/hpo/client_stubs/go/hpov1"
)

// Uniform is a real parameter uniform in [min, max].
func Uniform(name string, min, max float64) *hpov1.Parameter {
	return &hpov1.Parameter{Name: name, Domain: &hpov1.Parameter_DoubleRange{
		DoubleRange: &hpov1.DoubleRange{Min: &min, Max: &max},
	}}
}

// Stepped is a real parameter in [min, max] taking values min + k*step.
func Stepped(name string, min, max, step float64) *hpov1.Parameter {
	p := Uniform(name, min, max)
	p.GetDoubleRange().Step = step
	return p
}

// LogUniform is a real parameter in [min, max] (min > 0), uniform in log(value).
func LogUniform(name string, min, max float64) *hpov1.Parameter {
	p := Uniform(name, min, max)
	p.GetDoubleRange().Log = true
	return p
}

// Normal is a real parameter drawn from Normal(mu, sigma), unbounded.
func Normal(name string, mu, sigma float64) *hpov1.Parameter {
	return &hpov1.Parameter{Name: name, Domain: &hpov1.Parameter_DoubleRange{
		DoubleRange: &hpov1.DoubleRange{Distribution: hpov1.Distribution_NORMAL, Mu: mu, Sigma: sigma},
	}}
}

// IntRange is an integer parameter in [min, max], both inclusive.
func IntRange(name string, min, max int64) *hpov1.Parameter {
	return &hpov1.Parameter{Name: name, Domain: &hpov1.Parameter_IntRange{
		IntRange: &hpov1.IntRange{Min: min, Max: max},
	}}
}

// IntStep is an integer parameter in [min, max] taking values min + k*step.
func IntStep(name string, min, max, step int64) *hpov1.Parameter {
	p := IntRange(name, min, max)
	p.GetIntRange().Step = step
	return p
}

// LogInt is an integer parameter in [min, max] (min >= 1) sampled on a log scale.
func LogInt(name string, min, max int64) *hpov1.Parameter {
	p := IntRange(name, min, max)
	p.GetIntRange().Log = true
	return p
}

// Choice is a categorical parameter: one of the labels.
func Choice(name string, values ...string) *hpov1.Parameter {
	return &hpov1.Parameter{Name: name, Domain: &hpov1.Parameter_Categorical{
		Categorical: &hpov1.Categorical{Values: values},
	}}
}

// Discrete is a numeric parameter: one of the values.
func Discrete(name string, values ...float64) *hpov1.Parameter {
	return &hpov1.Parameter{Name: name, Domain: &hpov1.Parameter_Discrete{
		Discrete: &hpov1.Discrete{Values: values},
	}}
}

// When makes p conditional: it exists only when parent takes one of values (strings
// for a categorical parent, numbers otherwise). It returns p.
func When(p *hpov1.Parameter, parent string, values ...any) *hpov1.Parameter {
	c := &hpov1.Condition{Parent: parent}
	for _, v := range values {
		switch x := v.(type) {
		case string:
			c.Values = append(c.Values, structpb.NewStringValue(x))
		case int:
			c.Values = append(c.Values, structpb.NewNumberValue(float64(x)))
		case int64:
			c.Values = append(c.Values, structpb.NewNumberValue(float64(x)))
		case float64:
			c.Values = append(c.Values, structpb.NewNumberValue(x))
		default:
			panic("hpo.When: values must be strings or numbers")
		}
	}
	p.Condition = c
	return p
}

// Maximize is an objective that maximizes metric.
func Maximize(metric string) *hpov1.Objective {
	return &hpov1.Objective{Name: metric, Goal: hpov1.Objective_MAXIMIZE}
}

// Minimize is an objective that minimizes metric.
func Minimize(metric string) *hpov1.Objective {
	return &hpov1.Objective{Name: metric, Goal: hpov1.Objective_MINIMIZE}
}
