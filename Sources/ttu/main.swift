print("ttu")
