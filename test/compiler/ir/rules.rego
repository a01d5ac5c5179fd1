# complete, default, else, partial set and object rules, a function
package ir.rules

default allow := false

allow if input.user == "admin"

level := "admin" if input.admin else := "user"

roles contains r if {
	some r in input.roles
	r != "banned"
}

by_name[k] := v if some k, v in input.m

double(x) := x * 2

big := 123456789012345678901234567890
