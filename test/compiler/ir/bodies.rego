# iteration, negation, comprehensions, every, with, builtins
package ir.bodies

names := [n | some u in input.users; n := upper(u.name)]

admins := {u.name: u.id | some u in input.users; u.admin}

no_guests if not input.users[_].guest

all_named if every u in input.users { u.name != "" }

mocked if names == ["A"] with input.users as [{"name": "a"}]

paths contains p if walk(input, [p, _])

ok if {
	[a, b] := split(input.s, ".")
	startswith(a, "x")
	count(b) > 1
}
