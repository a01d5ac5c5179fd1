package test
# exp: undefined
p if { every x in input { print(x) } }
