package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
)

// dataSourceConstructors lists every data source of the provider.
func dataSourceConstructors() []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewColosDataSource,
		NewEgressDecisionDataSource,
		NewEgressMatrixDataSource,
		NewEgressPoliciesDataSource,
		NewSessionReplayDataSource,
	}
}

// functionConstructors lists every provider function.
func functionConstructors() []func() function.Function {
	return []func() function.Function{
		NewDecideFunction,
		NewImpactFunction,
		NewLintFunction,
	}
}
